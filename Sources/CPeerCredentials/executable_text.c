#if defined(__linux__)
#define _GNU_SOURCE
#include <link.h>
#endif
#include "executable_text.h"

#if defined(__linux__)
struct text_range { uintptr_t start, end; int found; };

static int first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct text_range *range = data;
    /* The first object dl_iterate_phdr reports is the executable itself. */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_LOAD || !(header->p_flags & PF_X) || (header->p_flags & PF_W)) continue;
        uintptr_t start = info->dlpi_addr + header->p_vaddr, end = start + header->p_memsz;
        if (!range->found || start < range->start) range->start = start;
        if (!range->found || end > range->end) range->end = end;
        range->found = 1;
    }
    return 1;
}

int kw_executable_text(uintptr_t *start, uintptr_t *end) {
    struct text_range range = {0, 0, 0};
    dl_iterate_phdr(first_object, &range);
    if (!range.found) return -1;
    *start = range.start;
    *end = range.end;
    return 0;
}
#else
int kw_executable_text(uintptr_t *start, uintptr_t *end) { (void)start; (void)end; return -1; }
#endif
