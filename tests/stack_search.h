/* Searching the stack below a test's frame for what a call left there
 * (test_kat.c, test_key.c, test_cipher.c): secrets and plain samples in
 * dead frames, where the next frames or a core file find them. The
 * stack is cleared first, so that what is found comes from the call;
 * the search starts 256 bytes below the searcher's own frame (past its
 * spills and the red zone) and ends within what stack_clear mapped.
 * Meaningless under the sanitizers (below): the tests skip themselves
 * there (STACK_SEARCH_SKIP_UNDER_SANITIZERS). */
#ifndef MC_TEST_STACK_SEARCH_H
#define MC_TEST_STACK_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How far below the searcher's frame the search looks: past the deepest
 * frames of the calls searched, within what they clear (MC__STACK_WIPE,
 * src/internal.h). Unoptimised, those frames go deeper (the stages'
 * kernel alone takes about 35 KiB at -O0; plain samples were left 37.4
 * KiB below a test's frame with the clear dropped: a review), and the
 * clear is 64 KiB: the search goes as deep. */
#ifdef __OPTIMIZE__
#define STACK_SEARCH (40u * 1024u)
#else
#define STACK_SEARCH (72u * 1024u)
#endif

/* AddressSanitizer's frames lie elsewhere. */
#if defined(__SANITIZE_ADDRESS__)
#define STACK_SEARCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACK_SEARCH_SANITIZED 1
#endif
#endif
/* ThreadSanitizer's runtime saves registers on the stack below the
 * searcher's frame as it traces the search's reads: the bytes being
 * compared are then "found" there (seen in the forty-sixth session). */
#if defined(__SANITIZE_THREAD__)
#define STACK_SEARCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STACK_SEARCH_SANITIZED 1
#endif
#endif
#ifdef STACK_SEARCH_SANITIZED
#define STACK_SEARCH_SKIP_UNDER_SANITIZERS() skip()
#else
#define STACK_SEARCH_SKIP_UNDER_SANITIZERS() ((void)0)
#endif

/* fn(arg) called 2 KiB below the caller's frame, so that fn's frames lie
 * where the search looks (from 256 bytes below the searcher's frame,
 * which is at the caller's level). */
static __attribute__((noinline, unused)) void stack_call_deeper(void (*fn)(void *), void *arg)
{
    volatile uint8_t pad[2048];
    pad[0] = 1;
    fn(arg);
    pad[sizeof pad - 1] = pad[0];
}

static __attribute__((noinline, unused)) void stack_clear(void)
{
    volatile uint8_t below[STACK_SEARCH];
    for (size_t i = 0; i < sizeof below; i++)
        below[i] = 0;
}

/* STACK_MARK bytes below the caller's frame set to STACK_MARK_BYTE, for a
 * test that a call clears the stack below it: afterwards no run of them
 * is left from STACK_MARK_DEEP down (stack_runs_of_from), past the
 * frames of the call itself, which it need not clear, and within what it
 * clears (MC__STACK_WIPE, 32 KiB or, unoptimised, 64 KiB, below its own
 * frame). */
#define STACK_MARK (24u * 1024u)
#define STACK_MARK_BYTE 0x5a
#define STACK_MARK_DEEP (8u * 1024u)

static __attribute__((noinline, unused)) void stack_mark(void)
{
    volatile uint8_t below[STACK_MARK];
    for (size_t i = 0; i < sizeof below; i++)
        below[i] = STACK_MARK_BYTE;
}

/* Bytes of the stack from `from` bytes below this frame in runs of 16 or
 * more equal to v. */
static __attribute__((noinline, unused)) size_t stack_runs_of_from(uint8_t v, size_t from)
{
    const volatile uint8_t *top = (const volatile uint8_t *)__builtin_frame_address(0);
    size_t found = 0, run = 0;
    for (size_t i = from; i < STACK_SEARCH - 1024; i++) {
        run = top[-(ptrdiff_t)i] == v ? run + 1 : 0;
        found += run == 16 ? 16 : run > 16;
    }
    return found;
}

static __attribute__((unused)) size_t stack_runs_of(uint8_t v)
{
    return stack_runs_of_from(v, 256);
}

/* Whether the n bytes at s lie anywhere in the stack below this frame. */
static __attribute__((noinline, unused)) bool stack_holds(const uint8_t *s, size_t n)
{
    const volatile uint8_t *top = (const volatile uint8_t *)__builtin_frame_address(0);
    for (size_t i = 256 + n; i < STACK_SEARCH - 1024; i++) {
        size_t j = 0;
        while (j < n && top[(ptrdiff_t)j - (ptrdiff_t)i] == s[j])
            j++;
        if (j == n)
            return true;
    }
    return false;
}

/* Whether any 4-byte word of the n bytes at s (n a multiple of 4) lies
 * in the stack below this frame, at any alignment: the words a secret is
 * held and spilled in. */
static __attribute__((noinline, unused)) bool stack_holds_words(const uint8_t *s, size_t n)
{
    const volatile uint8_t *top = (const volatile uint8_t *)__builtin_frame_address(0);
    for (size_t i = 256 + 4; i < STACK_SEARCH - 1024; i++)
        for (size_t w = 0; w + 4 <= n; w += 4)
            if (top[-(ptrdiff_t)i] == s[w] && top[1 - (ptrdiff_t)i] == s[w + 1] &&
                top[2 - (ptrdiff_t)i] == s[w + 2] && top[3 - (ptrdiff_t)i] == s[w + 3])
                return true;
    return false;
}

#endif
