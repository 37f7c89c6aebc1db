/* mn_file.h - the file utilities: reading a file a person named (a key, a configuration, a
 * party file): a regular file only, of a bounded size, and never a wait; and writing a file
 * crash-safely.
 *
 * open() of a FIFO blocks until someone writes to it, so a FIFO put in place of a key file
 * hung `meldnet-gateway -n`; a device or /dev/zero would never end; a multi-megabyte
 * configuration made libconfig take seconds. So the file is opened with O_NONBLOCK (an open
 * that cannot block), looked at with fstat on that descriptor (no race with a rename), and
 * refused unless it is a regular file no larger than the caller's limit.
 *
 * A crash-safe write goes to a temporary file in the target's directory, is fsynced, renamed
 * (or linked) over the target, and the directory is fsynced: after a crash the target holds
 * either the old contents or the new, never a mix.
 *
 * Caveats: a crash between the rename (or link) of a crash-safe write and the removal of its
 * temporary file can leave a ".<name>.tmp-XXXXXX" file next to the target; it has the target's
 * mode (0600 for secrets) and can be deleted.
 */
#ifndef MN_FILE_H
#define MN_FILE_H

#include <stddef.h>

#include "mn_error.h"

/* Configuration files (gateway.conf, agent.conf, partner.conf, party files) are at most this
 * large: a real one is a few kilobytes; the bound keeps the parser's time and memory small. */
#define MN_CONF_FILE_MAX_BYTES (1024 * 1024)

/* Open path for reading, as a regular file of at most max_bytes. noun names the file for a
 * person ("configuration", "secret key"); code is what to return when the file is not one
 * (not regular, too large): MN_ECONFIG, MN_EKEY, ... On MN_OK *fd_out is an open descriptor in
 * blocking mode (caller closes it) and *size_out its size. Returns MN_OK, code, or MN_ESYS
 * (d names the path; errno kept). */
MN_NODISCARD int mn_file_open_regular(const char *path, const char *noun, int code,
                                      size_t max_bytes, int *fd_out, size_t *size_out, mn_diag *d);

/* mn_file_open_regular, then the whole file into a fresh NUL-terminated buffer (malloc; caller
 * frees). A file that grows past max_bytes while being read is refused too. Returns as
 * mn_file_open_regular, or MN_ENOMEM. */
MN_NODISCARD int mn_file_read_regular(const char *path, const char *noun, int code,
                                      size_t max_bytes, char **buf_out, size_t *len_out,
                                      mn_diag *d);

/* Crash-safe write of `len` bytes to path with `mode`: temp file in the same directory, fsync,
 * rename, fsync the directory. Returns MN_OK or MN_ESYS. Shared by every file writer. */
MN_NODISCARD int mn_file_write_atomic(const char *path, const void *data, size_t len, int mode,
                                      mn_diag *d);

/* As mn_file_write_atomic, but never over an existing file: the temp file is linked to path,
 * which fails when path exists (secret key files). Returns MN_OK, MN_EEXIST (path exists;
 * nothing written there), MN_ESYS. */
MN_NODISCARD int mn_file_write_exclusive(const char *path, const void *data, size_t len, int mode,
                                         mn_diag *d);

#endif
