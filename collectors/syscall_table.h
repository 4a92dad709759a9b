/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The syscall collector's static tables: syscall number -> name for this
 * architecture (syscall_names.c), and the documented mapping of syscalls to
 * latency classes (syscall_classes.c), which userspace loads into the BPF
 * class table. Every string returned is static (usable as a label value).
 */
#ifndef CGS_SYSCALL_TABLE_H
#define CGS_SYSCALL_TABLE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/syscalls.h"

/* Name of syscall `nr` on this architecture, or NULL when it has none. */
const char *cgs_syscall_name(unsigned nr);
/* One past the highest named syscall number. */
unsigned cgs_syscall_nr_count(void);

/* Label values of the CGS_SC_* classes ("file_io", ..., "other"). */
extern const char *const cgs_syscall_class_names[CGS_SC_COUNT];
/* Class (CGS_SC_*) of a syscall by name; CGS_SC_OTHER for names outside the mapping. */
unsigned cgs_syscall_class_of_name(const char *name);
/* Entry i of the mapping as listed (for tests): false past the end. */
bool cgs_syscall_class_entry(size_t i, const char **name, unsigned *cls);
/* Fills table[0..CGS_SYSCALLS_NR_MAX) with the class of each syscall number of this architecture. */
void cgs_syscall_classes_fill(uint32_t table[CGS_SYSCALLS_NR_MAX]);

#endif
