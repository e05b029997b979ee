/*
 * core/cpu.h: per-CPU execution. Two kernel facilities, and the one place
 * that knows the instruction sets:
 *
 * - Restartable sequences (rseq). glibc 2.35 and later register a
 *   `struct rseq` for every thread, and the kernel keeps its cpu_id (and,
 *   since Linux 6.3, mm_cid) fields current. A short critical section
 *   that reads one and ends in a single committing store is restarted
 *   from its beginning whenever the thread is preempted, migrated or
 *   signalled inside it, so a plain read-modify-write of memory that
 *   belongs to the current CPU (or concurrency id) is exact without a
 *   `lock` prefix: only the thread holding that id writes that memory,
 *   and it cannot be interrupted half way.
 * - membarrier(2). MEMBARRIER_CMD_PRIVATE_EXPEDITED makes every running
 *   thread of the process execute a full memory barrier, which lets the
 *   readers of core/rcu.h use a compiler barrier where they would need a
 *   fence; MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ also restarts every rseq
 *   critical section in progress, which is what lets a writer know that no
 *   section that read a value before a change can still commit after it.
 *
 * The critical sections below add to slot `idx` of the region that
 * `bases[cpu]` points to. They exist for x86-64 and aarch64 on glibc
 * (elsewhere, and under ThreadSanitizer, which cannot see them, they are
 * not compiled and callers take their portable path). Each returns false,
 * having done nothing, when the current CPU's region is missing, the CPU
 * id is out of range or, for the guarded form, the guard word does not
 * match. Where rseq cannot be used (no glibc registration, an old kernel,
 * qemu-user, valgrind, LUMEN_METRICS_RSEQ=false), lumen__cpu_rseq_off
 * points at a thread-local stand-in whose CPU id is out of range, so the
 * sections fail at their first test and the hot paths need no flag.
 */
#ifndef LUMEN_CORE_CPU_H
#define LUMEN_CORE_CPU_H

#include "core/common.h"

/* CPU ids at or above this take the portable path. */
#define LUMEN__CPU_MAX 4096
#define LUMEN__STR_(x) #x
#define LUMEN__STR(x) LUMEN__STR_(x)

#if defined(__linux__) && defined(__GLIBC__) && !defined(LUMEN__TSAN) &&                           \
    (defined(__x86_64__) || defined(__aarch64__))
#define LUMEN__HAVE_RSEQ 1
#endif

/* True once rseq critical sections may be used (set by lumen__cpu_init,
 * never cleared except in a forked child that cannot re-register). */
extern LUMEN__HIDDEN bool lumen__cpu_rseq;
/* Offset from the thread pointer of the thread's struct rseq, or of the
 * stand-in. Valid from the library's load (a constructor sets it), the
 * same for every thread (both are initial-exec thread-locals). */
extern LUMEN__HIDDEN ptrdiff_t lumen__cpu_rseq_off;
/* Offset in struct rseq of the index the sections use: cpu_id (4), or
 * mm_cid (24) where the kernel provides it (Linux 6.3+): a compact id
 * unique among the threads of the process running at that moment, below
 * both the thread count and the CPU count, so that a program of few
 * threads uses few regions however many CPUs it runs on. */
extern LUMEN__HIDDEN ptrdiff_t lumen__cpu_id_off;

/* Detect rseq and membarrier and register for them; idempotent and
 * thread-safe. */
void lumen__cpu_init(void);

/* True when membarrier gives every thread a barrier on demand, so that
 * readers of core/rcu.h may use compiler barriers only. */
bool lumen__cpu_membarrier(void);

/*
 * The writer's side of both facilities: a full memory barrier on every
 * thread of the process and, when rseq is in use, the restart of every
 * critical section in progress. Without membarrier, a seq_cst fence (the
 * readers then fence too).
 */
void lumen__cpu_barrier(void);

/* The CPU the calling thread runs on, or -1. For the slow paths. */
int lumen__cpu_current(void);

/* Tests only: where rseq is unavailable (qemu-user, valgrind), run the
 * critical sections in the calling thread against a struct rseq the
 * kernel does not know, claiming CPU 0; other threads keep the portable
 * path. Without restarts this is sound for one thread only, which is what
 * it is for: executing each section's instructions. Returns 1 when set up,
 * 0 when the real rseq is in use, -1 where no section is compiled. */
int lumen__cpu_fake_rseq(void);

/* Fork handling: called in the child. */
void lumen__cpu_atfork_child(void);

#ifdef LUMEN__HAVE_RSEQ

static inline char *lumen__cpu_rseq_area(void)
{
    return (char *)__builtin_thread_pointer() + lumen__cpu_rseq_off;
}

/*
 * The pieces every critical section is made of, so that a block of one or
 * two sections is written once per instruction set. Labels are the local
 * numeric ones of GNU as, passed as strings:
 *
 * - LUMEN__RSEQ_CS(d, s, e, a): the descriptor d in __rseq_cs (version 0,
 *   flags 0, start s, length e - s, abort handler a). A block's sections
 *   use 9/8/6/5 (descriptor, start, end, abort) and 4/3/1/0; 7 and 2 are
 *   where each section is (re)armed.
 * - LUMEN__RSEQ_ARM(r, d, s, fail), per instruction set: at r, store the
 *   address of descriptor d in rseq_cs; the section begins at s with the
 *   test that the thread is registered and its id in range (else fail).
 * - LUMEN__RSEQ_CPU, per instruction set: the CPU (or concurrency) id into
 *   %eax / w9.
 * - LUMEN__RSEQ_HANDLER(a, r), per instruction set: the signature glibc
 *   registered, then the abort handler a, which re-arms at r (the kernel
 *   clears rseq_cs on abort).
 *
 * LUMEN__RSEQ_DESC opens the usual one-section block (ending in "6:" and
 * LUMEN__RSEQ_ABORT); LUMEN__RSEQ_DESC2 and LUMEN__RSEQ_SECOND open a
 * block's two sections (the first ends in "6:", the second in "1:" and
 * LUMEN__RSEQ_ABORT2), each restarted on its own.
 */
#define LUMEN__RSEQ_CS(d, s, e, a)                                                                 \
    ".balign 32\n" d ":\n\t"                                                                       \
    ".long 0, 0\n\t"                                                                               \
    ".quad " s "f, " e "f - " s "f, " a "f\n\t"
#define LUMEN__RSEQ_CS1                                                                            \
    ".pushsection __rseq_cs, \"aw\"\n\t" LUMEN__RSEQ_CS("9", "8", "6", "5") ".popsection\n"
#define LUMEN__RSEQ_CS2                                                                            \
    ".pushsection __rseq_cs, \"aw\"\n\t" LUMEN__RSEQ_CS("9", "8", "6", "5")                        \
        LUMEN__RSEQ_CS("4", "3", "1", "0") ".popsection\n"
#define LUMEN__RSEQ_DESC LUMEN__RSEQ_CS1 LUMEN__RSEQ_ARM("7", "9", "8", "fail") LUMEN__RSEQ_CPU
#define LUMEN__RSEQ_DESC2(fail) LUMEN__RSEQ_CS2 LUMEN__RSEQ_ARM("7", "9", "8", fail)
#define LUMEN__RSEQ_SECOND(fail) "6:\n" LUMEN__RSEQ_ARM("2", "4", "3", fail)
#define LUMEN__RSEQ_ABORT                                                                          \
    ".pushsection __rseq_failure, \"ax\"\n\t" LUMEN__RSEQ_HANDLER("5", "7") ".popsection\n\t"
#define LUMEN__RSEQ_ABORT2                                                                         \
    "1:\n\t"                                                                                       \
    ".pushsection __rseq_failure, \"ax\"\n\t" LUMEN__RSEQ_HANDLER("5", "7")                        \
        LUMEN__RSEQ_HANDLER("0", "2") ".popsection\n\t"

#if defined(__x86_64__)

/* One test covers both that the thread is registered (cpu_id is -1 or -2
 * otherwise) and that the index is in range: rseq is used only where
 * every CPU id, hence every mm_cid, is below LUMEN__CPU_MAX (cpu.c).
 *
 * The struct rseq is reached through %fs with the offset in a register:
 * reading the thread pointer into a register first costs a load (fs:0)
 * on the path to every access, over a nanosecond an update here.
 *
 * The abort handler must follow the 4-byte signature glibc registered
 * (RSEQ_SIG, behind a ud1 opcode so disassemblers stay in step). The
 * sections use %rax (and %rdx, and %xmm15 for doubles). */
#define LUMEN__RSEQ_ARM(r, d, s, fail)                                                             \
    r ":\n\t"                                                                                      \
      "leaq " d "b(%%rip), %%rax\n\t"                                                              \
      "movq %%rax, %%fs:8(%[rs])\n" s ":\n\t"                                                      \
      "cmpl $" LUMEN__STR(LUMEN__CPU_MAX) ", %%fs:4(%[rs])\n\t"                                    \
                                          "jae %l[" fail "]\n\t"
#define LUMEN__RSEQ_CPU "movl %%fs:(%[rs], %[idoff]), %%eax\n\t"
#define LUMEN__RSEQ_HANDLER(a, r)                                                                  \
    ".byte 0x0f, 0xb9, 0x3d\n\t"                                                                   \
    ".long 0x53053053\n" a ":\n\t"                                                                 \
    "jmp " r "b\n\t"

/* bases[cpu][idx] += v, if *guard == tok (metrics/slots.h: a counter's
 * slot word equals its live handle). */
static inline bool lumen__cpu_add_u64_guarded(uint64_t *const *bases, const _Atomic uint64_t *guard,
                                              uint64_t tok, uint64_t idx, uint64_t v)
{
    __asm__ goto(
        LUMEN__RSEQ_DESC "cmpq %[tok], (%[guard])\n\t"
                         "jne %l[fail]\n\t"
                         "movq (%[bases], %%rax, 8), %%rdx\n\t"
                         "testq %%rdx, %%rdx\n\t"
                         "jz %l[fail]\n\t"
                         "addq %[v], (%%rdx, %[idx], 8)\n"
                         "6:\n\t" LUMEN__RSEQ_ABORT
        :
        : [rs] "r"(lumen__cpu_rseq_off), [idoff] "r"(lumen__cpu_id_off), [guard] "r"(guard),
          [tok] "r"(tok), [idx] "r"(idx), [bases] "r"(bases), [v] "er"(v)
        : "rax", "rdx", "memory", "cc"
        : fail);
    return true;
fail:
    return false;
}

/* bases[cpu][idx] += v. */
static inline bool lumen__cpu_add_u64(uint64_t *const *bases, uint64_t idx, uint64_t v)
{
    __asm__ goto(LUMEN__RSEQ_DESC "movq (%[bases], %%rax, 8), %%rdx\n\t"
                                  "testq %%rdx, %%rdx\n\t"
                                  "jz %l[fail]\n\t"
                                  "addq %[v], (%%rdx, %[idx], 8)\n"
                                  "6:\n\t" LUMEN__RSEQ_ABORT
                 :
                 : [rs] "r"(lumen__cpu_rseq_off), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [idx] "r"(idx), [v] "er"(v)
                 : "rax", "rdx", "memory", "cc"
                 : fail);
    return true;
fail:
    return false;
}

/* bases[cpu][idx] (the bits of a double) += v. The load and add may be
 * repeated; only the final store commits. */
static inline bool lumen__cpu_add_f64(uint64_t *const *bases, uint64_t idx, double v)
{
    __asm__ goto(LUMEN__RSEQ_DESC "movq (%[bases], %%rax, 8), %%rdx\n\t"
                                  "testq %%rdx, %%rdx\n\t"
                                  "jz %l[fail]\n\t"
                                  "movsd (%%rdx, %[idx], 8), %%xmm15\n\t"
                                  "addsd %[v], %%xmm15\n\t"
                                  "movsd %%xmm15, (%%rdx, %[idx], 8)\n"
                                  "6:\n\t" LUMEN__RSEQ_ABORT
                 :
                 : [rs] "r"(lumen__cpu_rseq_off), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [idx] "r"(idx), [v] "x"(v)
                 : "rax", "rdx", "xmm15", "memory", "cc"
                 : fail);
    return true;
fail:
    return false;
}

/* If guard[0] == expect: *(uint64_t *)((char *)guard[1] + off) = v. The
 * CPU id is checked only to know that the section is registered, so that
 * the kernel will restart it. */
static inline bool lumen__cpu_store_guarded(const _Atomic uint64_t *guard, uint64_t expect,
                                            size_t off, uint64_t v)
{
    __asm__ goto(
        LUMEN__RSEQ_CS1 LUMEN__RSEQ_ARM("7", "9", "8", "fail") "cmpq %[expect], (%[guard])\n\t"
                                                               "jne %l[fail]\n\t"
                                                               "movq 8(%[guard]), %%rax\n\t"
                                                               "movq %[v], (%%rax, %[off])\n"
                                                               "6:\n\t" LUMEN__RSEQ_ABORT
        :
        : [rs] "r"(lumen__cpu_rseq_off), [guard] "r"(guard), [expect] "r"(expect), [v] "r"(v),
          [off] "r"(off)
        : "rax", "memory", "cc"
        : fail);
    return true;
fail:
    return false;
}

/* bases[cpu][i1] += v, then bases[cpu'][i2] (a double) += d: two critical
 * sections in one block (a histogram's bucket and sum), each restarted on
 * its own, so that each add happens exactly once. Returns 0 when both were
 * done, 1 when neither was, 2 when only the first was. */
static inline int lumen__cpu_add_u64_f64(uint64_t *const *bases, uint64_t i1, uint64_t v,
                                         uint64_t i2, double d)
{
    __asm__ goto(LUMEN__RSEQ_DESC2("none") LUMEN__RSEQ_CPU
                 "movq (%[bases], %%rax, 8), %%rdx\n\t"
                 "testq %%rdx, %%rdx\n\t"
                 "jz %l[none]\n\t"
                 "addq %[v], (%%rdx, %[i1], 8)\n\t" LUMEN__RSEQ_SECOND("first") LUMEN__RSEQ_CPU
                 "movq (%[bases], %%rax, 8), %%rdx\n\t"
                 "testq %%rdx, %%rdx\n\t"
                 "jz %l[first]\n\t"
                 "movsd (%%rdx, %[i2], 8), %%xmm15\n\t"
                 "addsd %[d], %%xmm15\n\t"
                 "movsd %%xmm15, (%%rdx, %[i2], 8)\n" LUMEN__RSEQ_ABORT2
                 :
                 : [rs] "r"(lumen__cpu_rseq_off), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [i1] "r"(i1), [v] "er"(v), [i2] "r"(i2), [d] "x"(d)
                 : "rax", "rdx", "xmm15", "memory", "cc"
                 : none, first);
    return 0;
none:
    return 1;
first:
    return 2;
}

#elif defined(__aarch64__)

/* As on x86-64; the signature is glibc's RSEQ_SIG_CODE (a BRK). x9 holds
 * the CPU id. */
#define LUMEN__RSEQ_ARM(r, d, s, fail)                                                             \
    r ":\n\t"                                                                                      \
      "adrp x9, " d "b\n\t"                                                                        \
      "add x9, x9, :lo12:" d "b\n\t"                                                               \
      "str x9, [%[rs], #8]\n" s ":\n\t"                                                            \
      "ldr w9, [%[rs], #4]\n\t"                                                                    \
      "cmp w9, #" LUMEN__STR(LUMEN__CPU_MAX) "\n\t"                                                \
                                             "b.hs %l[" fail "]\n\t"
#define LUMEN__RSEQ_CPU "ldr w9, [%[rs], %[idoff]]\n\t"
#define LUMEN__RSEQ_HANDLER(a, r)                                                                  \
    ".inst 0xd428bc00\n" a ":\n\t"                                                                 \
    "b " r "b\n\t"

static inline bool lumen__cpu_add_u64_guarded(uint64_t *const *bases, const _Atomic uint64_t *guard,
                                              uint64_t tok, uint64_t idx, uint64_t v)
{
    __asm__ goto(
        LUMEN__RSEQ_DESC "ldr x10, [%[guard]]\n\t"
                         "cmp x10, %[tok]\n\t"
                         "b.ne %l[fail]\n\t"
                         "ldr x11, [%[bases], w9, uxtw #3]\n\t"
                         "cbz x11, %l[fail]\n\t"
                         "add x11, x11, %[idx], lsl #3\n\t"
                         "ldr x12, [x11]\n\t"
                         "add x12, x12, %[v]\n\t"
                         "str x12, [x11]\n"
                         "6:\n\t" LUMEN__RSEQ_ABORT
        :
        : [rs] "r"(lumen__cpu_rseq_area()), [idoff] "r"(lumen__cpu_id_off), [guard] "r"(guard),
          [tok] "r"(tok), [idx] "r"(idx), [bases] "r"(bases), [v] "r"(v)
        : "x9", "x10", "x11", "x12", "memory", "cc"
        : fail);
    return true;
fail:
    return false;
}

static inline bool lumen__cpu_add_u64(uint64_t *const *bases, uint64_t idx, uint64_t v)
{
    __asm__ goto(LUMEN__RSEQ_DESC "ldr x11, [%[bases], w9, uxtw #3]\n\t"
                                  "cbz x11, %l[fail]\n\t"
                                  "add x11, x11, %[idx], lsl #3\n\t"
                                  "ldr x12, [x11]\n\t"
                                  "add x12, x12, %[v]\n\t"
                                  "str x12, [x11]\n"
                                  "6:\n\t" LUMEN__RSEQ_ABORT
                 :
                 : [rs] "r"(lumen__cpu_rseq_area()), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [idx] "r"(idx), [v] "r"(v)
                 : "x9", "x11", "x12", "memory", "cc"
                 : fail);
    return true;
fail:
    return false;
}

static inline bool lumen__cpu_add_f64(uint64_t *const *bases, uint64_t idx, double v)
{
    __asm__ goto(LUMEN__RSEQ_DESC "ldr x11, [%[bases], w9, uxtw #3]\n\t"
                                  "cbz x11, %l[fail]\n\t"
                                  "add x11, x11, %[idx], lsl #3\n\t"
                                  "ldr d31, [x11]\n\t"
                                  "fadd d31, d31, %d[v]\n\t"
                                  "str d31, [x11]\n"
                                  "6:\n\t" LUMEN__RSEQ_ABORT
                 :
                 : [rs] "r"(lumen__cpu_rseq_area()), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [idx] "r"(idx), [v] "w"(v)
                 : "x9", "x11", "v31", "memory", "cc"
                 : fail);
    return true;
fail:
    return false;
}

static inline bool lumen__cpu_store_guarded(const _Atomic uint64_t *guard, uint64_t expect,
                                            size_t off, uint64_t v)
{
    __asm__ goto(
        LUMEN__RSEQ_CS1 LUMEN__RSEQ_ARM("7", "9", "8", "fail") "ldr x10, [%[guard]]\n\t"
                                                               "cmp x10, %[expect]\n\t"
                                                               "b.ne %l[fail]\n\t"
                                                               "ldr x11, [%[guard], #8]\n\t"
                                                               "str %[v], [x11, %[off]]\n"
                                                               "6:\n\t" LUMEN__RSEQ_ABORT
        :
        : [rs] "r"(lumen__cpu_rseq_area()), [guard] "r"(guard), [expect] "r"(expect), [v] "r"(v),
          [off] "r"(off)
        : "x9", "x10", "x11", "memory", "cc"
        : fail);
    return true;
fail:
    return false;
}

static inline int lumen__cpu_add_u64_f64(uint64_t *const *bases, uint64_t i1, uint64_t v,
                                         uint64_t i2, double d)
{
    __asm__ goto(LUMEN__RSEQ_DESC2("none") LUMEN__RSEQ_CPU
                 "ldr x11, [%[bases], w9, uxtw #3]\n\t"
                 "cbz x11, %l[none]\n\t"
                 "add x11, x11, %[i1], lsl #3\n\t"
                 "ldr x12, [x11]\n\t"
                 "add x12, x12, %[v]\n\t"
                 "str x12, [x11]\n\t" LUMEN__RSEQ_SECOND("first") LUMEN__RSEQ_CPU
                 "ldr x11, [%[bases], w9, uxtw #3]\n\t"
                 "cbz x11, %l[first]\n\t"
                 "add x11, x11, %[i2], lsl #3\n\t"
                 "ldr d31, [x11]\n\t"
                 "fadd d31, d31, %d[d]\n\t"
                 "str d31, [x11]\n" LUMEN__RSEQ_ABORT2
                 :
                 : [rs] "r"(lumen__cpu_rseq_area()), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(bases), [i1] "r"(i1), [v] "r"(v), [i2] "r"(i2), [d] "w"(d)
                 : "x9", "x11", "x12", "v31", "memory", "cc"
                 : none, first);
    return 0;
none:
    return 1;
first:
    return 2;
}

#endif /* arch */
#endif /* LUMEN__HAVE_RSEQ */

#endif
