/* Image-sized buffers: fewer page faults.
 *
 * A fresh 8 MiB buffer is 2048 pages of 4 KiB, and each first touch is a
 * page fault: on the virtual machines this was measured on (docs/
 * PERFORMANCE.md, "Whole process"), the faults of the three image-sized
 * buffers of one `medcrypt encrypt` cost more than the keyed hash. Asking
 * for transparent huge pages (madvise(2), MADV_HUGEPAGE; honoured when
 * /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise",
 * ignored otherwise) turns every aligned 2 MiB of the buffer into one
 * fault. The buffer itself stays an ordinary malloc() block. */
#include "internal.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void mc__hint_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(HUGE_PAGE - 1);

    if (p != NULL && len >= 2 * HUGE_PAGE && end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE); /* a hint: errors ignored */
#else
    (void)p;
    (void)len;
#endif
}
