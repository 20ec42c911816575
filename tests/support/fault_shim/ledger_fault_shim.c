/*
 * Storage faults for tests: a full disk (ENOSPC), a file system gone read-only (EROFS), or a
 * database file whose pages come back damaged, under the ledger, switched on and off while the
 * program runs.
 *
 * Loaded with LD_PRELOAD into a real chargerecond (or linked into a test program), it stands in
 * front of libc's write-side calls and its reads. Two environment variables drive it:
 *   CHARGERECON_FAULT_PATH_PREFIX  absolute path prefix: only files whose path begins with it
 *                                  fail ("<dir>/ledger.db" covers the database, its -wal and
 *                                  -shm files and the .lock file; the daemon's log does not).
 *   CHARGERECON_FAULT_CONTROL      a file; while it exists, its first word is the fault:
 *                                  "ENOSPC" (write, pwrite, ftruncate, fsync and fdatasync
 *                                  fail), "EROFS" (the same, and opening for writing and
 *                                  unlinking fail too) or "CORRUPT" (read and pread of the file
 *                                  the prefix names exactly, the main database, return its pages
 *                                  scrambled past the 100-byte file header; writes pass).
 *                                  Absent: every call passes through.
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
 * CORRUPT damages what is read, not the file: a page SQLite has to fetch from the database once
 * the fault is set is malformed to it (SQLITE_CORRUPT, as from a bad sector or a stray writer),
 * pages it holds in its cache or reads from the WAL are not, and the file on disk stays intact,
 * so a test can still read the ledger afterwards. Only the main file: the damage is found where
 * a bad disk or a stray writer would leave it, while the WAL, its index and the lock file keep
 * working.
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

enum fault { no_fault, disk_full, read_only, corrupt_reads };

/* The fault set now. Raw system calls: the control file must not pass through the interposed
   functions below. */
static enum fault active_fault(void) {
  const char* control = getenv("CHARGERECON_FAULT_CONTROL");
  const char* prefix = getenv("CHARGERECON_FAULT_PATH_PREFIX");
  if (control == NULL || *control == '\0' || prefix == NULL || *prefix == '\0') return no_fault;
  const long fd = syscall(SYS_openat, AT_FDCWD, control, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return no_fault;
  char word[16] = {0};
  const long n = syscall(SYS_read, fd, word, sizeof word - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return no_fault;
  if (strncmp(word, "ENOSPC", 6) == 0) return disk_full;
  if (strncmp(word, "EROFS", 5) == 0) return read_only;
  if (strncmp(word, "CORRUPT", 7) == 0) return corrupt_reads;
  return no_fault;
}

/* The errno a failing write gets under `f`, or 0 when `f` lets writes pass. */
static int write_errno(enum fault f) {
  if (f == disk_full) return ENOSPC;
  if (f == read_only) return EROFS;
  return 0;
}

static int path_is_faulted(const char* path) {
  const char* prefix = getenv("CHARGERECON_FAULT_PATH_PREFIX");
  return path != NULL && prefix != NULL && strncmp(path, prefix, strlen(prefix)) == 0;
}

/* The path `fd` is open on, in `target`; 0 when it has none. */
static int fd_path(int fd, char* target, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const long n = syscall(SYS_readlinkat, AT_FDCWD, link, target, size - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return 1;
}

static int fd_is_faulted(int fd) {
  char target[4096];
  return fd_path(fd, target, sizeof target) && path_is_faulted(target);
}

/* The main database: the file the prefix names, not its -wal, -shm or .lock companions. */
static int fd_is_database(int fd) {
  const char* prefix = getenv("CHARGERECON_FAULT_PATH_PREFIX");
  char target[4096];
  return prefix != NULL && fd_path(fd, target, sizeof target) && strcmp(target, prefix) == 0;
}

/* The errno for a write-side call on `fd`, errno left intact when there is none. */
static int fault_for_fd(int fd) {
  const int saved = errno;
  int fault = write_errno(active_fault());
  if (fault != 0 && !fd_is_faulted(fd)) fault = 0;
  errno = saved;
  return fault;
}

/* Paths fail only on a read-only file system, and only when the call would write. */
static int fault_for_path(const char* path, int writes) {
  const int saved = errno;
  const int fault = active_fault() == read_only && writes && path_is_faulted(path) ? EROFS : 0;
  errno = saved;
  return fault;
}

/* SQLite's file header: left readable, so the file is still a SQLite database and what SQLite
   finds is malformed pages (SQLITE_CORRUPT), not a file that is not a database at all. */
#define DATABASE_HEADER_BYTES 100

/* Damages the `got` bytes just read from `fd` at file offset `at` into `buf` (at < 0: read()
   left the file offset just past them), when `fd` is the database and reads are to come back
   corrupt. Every byte past the header flipped: b-tree pages whose type byte, cell pointers and
   header SQLite must all reject. */
static void damage_read(int fd, void* buf, ssize_t got, off64_t at) {
  if (got <= 0) return;
  const int saved = errno;
  if (active_fault() == corrupt_reads && fd_is_database(fd)) {
    if (at < 0) at = (off64_t)syscall(SYS_lseek, fd, 0, SEEK_CUR) - got;
    unsigned char* bytes = buf;
    for (ssize_t i = 0; i < got; ++i)
      if (at + i >= DATABASE_HEADER_BYTES) bytes[i] ^= 0xA5;
  }
  errno = saved;
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

ssize_t read(int fd, void* buf, size_t n) {
  typedef ssize_t (*fn)(int, void*, size_t);
  static void* cache;
  const ssize_t got = ((fn)real(&cache, "read"))(fd, buf, n);
  damage_read(fd, buf, got, -1);
  return got;
}

#define DAMAGED_PREAD(name, offset_type)                           \
  ssize_t name(int fd, void* buf, size_t n, offset_type at) {      \
    typedef ssize_t (*fn)(int, void*, size_t, offset_type);        \
    static void* cache;                                            \
    const ssize_t got = ((fn)real(&cache, #name))(fd, buf, n, at); \
    damage_read(fd, buf, got, at);                                 \
    return got;                                                    \
  }

DAMAGED_PREAD(pread, off_t)
DAMAGED_PREAD(pread64, off64_t)

#undef DAMAGED_PREAD

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
