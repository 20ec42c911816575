/*
 * Storage faults for tests: a full disk (ENOSPC) or a file system gone read-only (EROFS) under
 * the ledger, switched on and off while the program runs.
 *
 * Loaded with LD_PRELOAD into a real chargerecond (or linked into a test program), it stands in
 * front of libc's write-side calls. Two environment variables drive it:
 *   CHARGERECON_FAULT_PATH_PREFIX  absolute path prefix: only files whose path begins with it
 *                                  fail ("<dir>/ledger.db" covers the database, its -wal and
 *                                  -shm files and the .lock file; the daemon's log does not).
 *   CHARGERECON_FAULT_CONTROL      a file; while it exists, its first word is the fault:
 *                                  "ENOSPC" (write, pwrite, ftruncate, fsync and fdatasync
 *                                  fail) or "EROFS" (the same, and opening for writing and
 *                                  unlinking fail too). Absent: every call passes through.
 * Both are read on every call, so a test flips the fault by creating or removing the file.
 *
 * Why this and not the alternatives: it works as root without privileges (CI runs as root, and
 * chmod does not stop root), the errors come from the system calls SQLite's unix VFS really
 * makes, so SQLite's own error handling, the ledger's mapping and the engine's retries all run
 * as on a real full disk; and it is scoped to the ledger's files. RLIMIT_FSIZE was rejected: it
 * hits every file the process writes (its log too), gives EFBIG rather than ENOSPC or EROFS, and
 * lets the WAL be rewritten in place. A small tmpfs or loop mount needs CAP_SYS_ADMIN; a SQLite
 * VFS would need a hook inside the daemon.
 *
 * Memory-mapped writes (the WAL index, -shm) are not faulted: they reach no disk block on their
 * own. Only calls made through the dynamic symbol table are seen, which is how libsqlite3 and
 * our code call them.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* errno to inject now, or 0. Raw system calls: the control file must not pass through the
   interposed functions below. */
static int active_fault(void) {
  const char* control = getenv("CHARGERECON_FAULT_CONTROL");
  const char* prefix = getenv("CHARGERECON_FAULT_PATH_PREFIX");
  if (control == NULL || *control == '\0' || prefix == NULL || *prefix == '\0') return 0;
  const long fd = syscall(SYS_openat, AT_FDCWD, control, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char word[16] = {0};
  const long n = syscall(SYS_read, fd, word, sizeof word - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return 0;
  if (strncmp(word, "ENOSPC", 6) == 0) return ENOSPC;
  if (strncmp(word, "EROFS", 5) == 0) return EROFS;
  return 0;
}

static int path_is_faulted(const char* path) {
  const char* prefix = getenv("CHARGERECON_FAULT_PATH_PREFIX");
  return path != NULL && prefix != NULL && strncmp(path, prefix, strlen(prefix)) == 0;
}

static int fd_is_faulted(int fd) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  const long n = syscall(SYS_readlinkat, AT_FDCWD, link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return path_is_faulted(target);
}

/* The fault for a call on `fd`, errno left intact when there is none. */
static int fault_for_fd(int fd) {
  const int saved = errno;
  int fault = active_fault();
  if (fault != 0 && !fd_is_faulted(fd)) fault = 0;
  errno = saved;
  return fault;
}

/* Paths fail only on a read-only file system, and only when the call would write. */
static int fault_for_path(const char* path, int writes) {
  const int saved = errno;
  int fault = active_fault();
  if (fault != EROFS || !writes || !path_is_faulted(path)) fault = 0;
  errno = saved;
  return fault;
}

static void* real(void** cache, const char* name) {
  void* f = __atomic_load_n(cache, __ATOMIC_RELAXED);
  if (f == NULL) {
    f = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, f, __ATOMIC_RELAXED);
  }
  return f;
}

static int opens_for_writing(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0; }

typedef int (*open_fn)(const char*, int, ...);

static int open_common(void** cache, const char* name, const char* path, int flags, mode_t mode) {
  const int f = fault_for_path(path, opens_for_writing(flags));
  if (f != 0) {
    errno = f;
    return -1;
  }
  return ((open_fn)real(cache, name))(path, flags, mode);
}

static mode_t mode_argument(int flags, va_list ap) {
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) return (mode_t)va_arg(ap, int);
  return 0;
}

/* Marks a process the shim is loaded in. */
int chargerecon_ledger_fault_shim_loaded = 1;

#define FAULTED_OPEN(name)                                    \
  int name(const char* path, int flags, ...) {                \
    static void* cache;                                       \
    va_list ap;                                               \
    va_start(ap, flags);                                      \
    const mode_t mode = mode_argument(flags, ap);             \
    va_end(ap);                                               \
    return open_common(&cache, #name, path, flags, mode);     \
  }

FAULTED_OPEN(open)
FAULTED_OPEN(open64)

#undef FAULTED_OPEN

#define FAULTED_FD_CALL(ret, name, params, args, fd_arg) \
  ret name params {                                      \
    typedef ret(*fn) params;                             \
    static void* cache;                                  \
    const int f = fault_for_fd(fd_arg);                  \
    if (f != 0) {                                        \
      errno = f;                                         \
      return -1;                                         \
    }                                                    \
    return ((fn)real(&cache, #name)) args;               \
  }

FAULTED_FD_CALL(ssize_t, write, (int fd, const void* buf, size_t n), (fd, buf, n), fd)
FAULTED_FD_CALL(ssize_t, pwrite, (int fd, const void* buf, size_t n, off_t at), (fd, buf, n, at), fd)
FAULTED_FD_CALL(ssize_t, pwrite64, (int fd, const void* buf, size_t n, off64_t at), (fd, buf, n, at), fd)
FAULTED_FD_CALL(int, ftruncate, (int fd, off_t length), (fd, length), fd)
FAULTED_FD_CALL(int, ftruncate64, (int fd, off64_t length), (fd, length), fd)
FAULTED_FD_CALL(int, fsync, (int fd), (fd), fd)
FAULTED_FD_CALL(int, fdatasync, (int fd), (fd), fd)

#undef FAULTED_FD_CALL

int unlink(const char* path) {
  typedef int (*fn)(const char*);
  static void* cache;
  const int f = fault_for_path(path, 1);
  if (f != 0) {
    errno = f;
    return -1;
  }
  return ((fn)real(&cache, "unlink"))(path);
}
