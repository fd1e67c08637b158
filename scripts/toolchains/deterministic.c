/* Build-time determinism for snapshotting guest toolchains (componentize-qjs,
 * componentize-py): both run the guest's initialisation inside wasmtime and
 * write the resulting memory into the component, so whatever the host hands
 * the guest then (random bytes, clock readings, file times) ends up in the
 * .wasm and two builds of the same source differ.
 *
 * Loaded with LD_PRELOAD into the toolchain process only (never into a
 * plugin or the host): every random byte comes from one fixed xorshift
 * stream restarted at each call, every clock reads 1980-01-01, every file
 * time reads the same, device and inode numbers are derived from the file's
 * type and size. Hooks: getrandom(), syscall(SYS_getrandom),
 * clock_gettime(), gettimeofday(), time(), the stat family. With
 * WASMPUSH_DET_SECCOMP=1 a seccomp filter also traps the raw getrandom,
 * clock_gettime, gettimeofday, time, statx, newfstatat and fstat system
 * calls (made without libc, e.g. by rustix), emulated in a SIGSYS handler,
 * and hides the vDSO (getauxval(AT_SYSINFO_EHDR) = 0) so clocks take the
 * trapped path. The filter survives exec: only for a process that execs
 * nothing afterwards. Linux, glibc; the seccomp part x86_64 only.
 *
 * The snapshot's random state (hash seeds, Math.random) is the same in
 * every build; it already was the same in every instance of one build. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define FIXED 315532800L /* 1980-01-01T00:00:00Z */
#define MAGIC 0x5eed5eedL

static int use_seccomp;

static void fill(void *buf, size_t n) {
    unsigned long long st = 0x9E3779B97F4A7C15ULL;
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        p[i] = (unsigned char)st;
    }
}

/* Device and inode numbers reach the guest too (wasmtime-wasi hashes them
 * into the metadata hash that wasi-libc reports as st_ino): replaced by
 * values derived from what the file is (type and size), the same anywhere. */
static unsigned long long fake_ino(unsigned long long size, unsigned int mode) {
    return 0x100000000ULL ^ size ^ ((unsigned long long)(mode & S_IFMT) << 32);
}

static void fixstat(struct stat *s) {
    s->st_dev = 1;
    s->st_ino = fake_ino((unsigned long long)s->st_size, s->st_mode);
    s->st_atim.tv_sec = s->st_mtim.tv_sec = s->st_ctim.tv_sec = FIXED;
    s->st_atim.tv_nsec = s->st_mtim.tv_nsec = s->st_ctim.tv_nsec = 0;
}

static void fixstatx(struct statx *s) {
    s->stx_dev_major = 0;
    s->stx_dev_minor = 1;
    s->stx_ino = fake_ino(s->stx_size, s->stx_mode);
    s->stx_atime.tv_sec = s->stx_mtime.tv_sec = s->stx_ctime.tv_sec = s->stx_btime.tv_sec = FIXED;
    s->stx_atime.tv_nsec = s->stx_mtime.tv_nsec = s->stx_ctime.tv_nsec = s->stx_btime.tv_nsec = 0;
}

#define REAL(name) \
    static __typeof__(&name) real_##name; \
    if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t getrandom(void *buf, size_t n, unsigned int flags) {
    (void)flags;
    fill(buf, n);
    return (ssize_t)n;
}

int getentropy(void *buf, size_t n) {
    fill(buf, n);
    return 0;
}

long syscall(long nr, ...) {
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_getrandom) {
        fill((void *)a[0], (size_t)a[1]);
        return a[1];
    }
    REAL(syscall);
    long r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r == 0 && nr == SYS_statx) fixstatx((struct statx *)a[4]);
    if (r == 0 && nr == SYS_newfstatat) fixstat((struct stat *)a[2]);
    if (r == 0 && nr == SYS_fstat) fixstat((struct stat *)a[1]);
#if defined(SYS_stat) && defined(SYS_lstat)
    if (r == 0 && (nr == SYS_stat || nr == SYS_lstat)) fixstat((struct stat *)a[1]);
#endif
    return r;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    (void)id;
    ts->tv_sec = FIXED;
    ts->tv_nsec = 0;
    return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timeval *volatile out = tv; /* declared nonnull, but be safe */
    if (out) {
        out->tv_sec = FIXED;
        out->tv_usec = 0;
    }
    return 0;
}

time_t time(time_t *t) {
    if (t) *t = FIXED;
    return FIXED;
}

int statx(int dfd, const char *p, int fl, unsigned int mask, struct statx *s) {
    REAL(statx);
    int r = real_statx(dfd, p, fl, mask, s);
    if (r == 0) fixstatx(s);
    return r;
}

#define STAT_HOOK(name, params, args, buf) \
    int name params { \
        REAL(name); \
        int r = real_##name args; \
        if (r == 0) fixstat(buf); \
        return r; \
    }
STAT_HOOK(stat, (const char *p, struct stat *s), (p, s), s)
STAT_HOOK(lstat, (const char *p, struct stat *s), (p, s), s)
STAT_HOOK(fstat, (int fd, struct stat *s), (fd, s), s)
STAT_HOOK(fstatat, (int d, const char *p, struct stat *s, int f), (d, p, s, f), s)
int __xstat64(int, const char *, struct stat *);
int __lxstat64(int, const char *, struct stat *);
int __fxstat64(int, int, struct stat *);
int __fxstatat64(int, int, const char *, struct stat *, int);
STAT_HOOK(__xstat64, (int v, const char *p, struct stat *s), (v, p, s), s)
STAT_HOOK(__lxstat64, (int v, const char *p, struct stat *s), (v, p, s), s)
STAT_HOOK(__fxstat64, (int v, int fd, struct stat *s), (v, fd, s), s)
STAT_HOOK(__fxstatat64, (int v, int d, const char *p, struct stat *s, int f), (v, d, p, s, f), s)

unsigned long getauxval(unsigned long type) {
    REAL(getauxval);
    if (use_seccomp && type == AT_SYSINFO_EHDR) return 0;
    return real_getauxval(type);
}

#if defined(__x86_64__)
static long raw6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
    long nr = si->si_syscall, a0 = g[REG_RDI], a1 = g[REG_RSI], a2 = g[REG_RDX], a3 = g[REG_R10], a4 = g[REG_R8];
    long r = -38; /* ENOSYS */
    switch (nr) {
    case SYS_clock_gettime: {
        struct timespec *ts = (struct timespec *)a1;
        ts->tv_sec = FIXED;
        ts->tv_nsec = 0;
        r = 0;
        break;
    }
    case SYS_gettimeofday:
        if (a0) {
            ((struct timeval *)a0)->tv_sec = FIXED;
            ((struct timeval *)a0)->tv_usec = 0;
        }
        r = 0;
        break;
    case SYS_time:
        if (a0) *(long *)a0 = FIXED;
        r = FIXED;
        break;
    case SYS_getrandom:
        fill((void *)a0, (size_t)a1);
        r = a1;
        break;
    case SYS_statx: /* the sixth argument, unused by statx, lets the filter pass it */
        r = raw6(nr, a0, a1, a2, a3, a4, MAGIC);
        if (r == 0) fixstatx((struct statx *)a4);
        break;
    case SYS_newfstatat:
        r = raw6(nr, a0, a1, a2, a3, MAGIC, 0);
        if (r == 0) fixstat((struct stat *)a2);
        break;
    case SYS_fstat:
        r = raw6(nr, a0, a1, MAGIC, 0, 0, 0);
        if (r == 0) fixstat((struct stat *)a1);
        break;
    }
    g[REG_RAX] = r;
}

#define ARG(i) offsetof(struct seccomp_data, args[i])
#endif

__attribute__((constructor)) static void init(void) {
    const char *want = getenv("WASMPUSH_DET_SECCOMP");
    if (!want || strcmp(want, "1") != 0) return;
#if !defined(__x86_64__)
    static const char m[] = "deterministic.c: the seccomp part is x86_64 only; raw system calls are not made deterministic\n";
    if (write(2, m, sizeof m - 1) < 0) {}
#else
    use_seccomp = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, 0);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clock_gettime, 14, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_gettimeofday, 13, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_time, 12, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 11, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_statx, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG(5)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAGIC, 7, 8),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG(4)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAGIC, 3, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fstat, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG(2)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAGIC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || raw6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0) != 0) {
        static const char m[] = "deterministic.c: seccomp filter refused; raw system calls are not made deterministic\n";
        if (write(2, m, sizeof m - 1) < 0) {}
    }
#endif
}
