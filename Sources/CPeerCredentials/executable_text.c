#if defined(__linux__)
#define _GNU_SOURCE
#include <link.h>
#endif
#include <stdio.h>
#include <string.h>
#include "executable_text.h"

#if defined(__linux__)
struct text_segments {
    uintptr_t *starts, *ends;
    int capacity, count, textrel;
};

static int first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct text_segments *found = data;
    /* glibc reports the executable first, with an empty name. */
    if (info->dlpi_name && info->dlpi_name[0] != '\0') return 1;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type == PT_DYNAMIC) {
            for (const ElfW(Dyn) *entry = (const ElfW(Dyn) *)(info->dlpi_addr + header->p_vaddr); entry->d_tag != DT_NULL; entry++) {
                if (entry->d_tag == DT_TEXTREL || (entry->d_tag == DT_FLAGS && (entry->d_un.d_val & DF_TEXTREL))) found->textrel = 1;
            }
        }
        if (header->p_type != PT_LOAD || !(header->p_flags & PF_X) || (header->p_flags & PF_W)) continue;
        if (found->count == found->capacity) continue;
        found->starts[found->count] = info->dlpi_addr + header->p_vaddr;
        found->ends[found->count] = info->dlpi_addr + header->p_vaddr + header->p_memsz;
        found->count++;
    }
    return 1;
}

int kw_executable_text_segments(uintptr_t *starts, uintptr_t *ends, int capacity) {
    struct text_segments found = {starts, ends, capacity, 0, 0};
    dl_iterate_phdr(first_object, &found);
    if (found.textrel || found.count == 0) return -1;
    return found.count;
}

int kw_range_has_written_pages(const char *smaps_path, uintptr_t start, uintptr_t end) {
    FILE *smaps = fopen(smaps_path, "re");
    if (!smaps) return -1;
    char line[512];
    int overlapping = 0, written = 0;
    while (!written && fgets(line, sizeof line, smaps)) {
        unsigned long low, high, kib;
        char dash;
        /* A mapping's first line: "low-high perms offset dev inode [path]". */
        if (sscanf(line, "%lx%c%lx ", &low, &dash, &high) == 3 && dash == '-') {
            overlapping = low < end && high > start;
        } else if (overlapping && sscanf(line, "Anonymous: %lu kB", &kib) == 1 && kib > 0) {
            written = 1;
        }
    }
    fclose(smaps);
    return written;
}
#else
int kw_executable_text_segments(uintptr_t *starts, uintptr_t *ends, int capacity) { (void)starts; (void)ends; (void)capacity; return -1; }
int kw_range_has_written_pages(const char *smaps_path, uintptr_t start, uintptr_t end) { (void)smaps_path; (void)start; (void)end; return -1; }
#endif

/* Pointers in a global: a position-independent executable's loader writes
   each one at start (a relative relocation), so the page holding them is a
   written, private copy that MADV_DONTNEED would revert to the file's bytes. */
static const char kw_probe_first[] = "first", kw_probe_second[] = "second";
static const char *const volatile kw_probe_table[] = {kw_probe_first, kw_probe_second};

int kw_relocated_table_intact(void) {
    return kw_probe_table[0] == kw_probe_first && kw_probe_table[1] == kw_probe_second &&
           strcmp(kw_probe_table[0], "first") == 0 && strcmp(kw_probe_table[1], "second") == 0;
}
