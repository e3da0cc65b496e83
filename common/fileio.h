#ifndef QUORUM_FILEIO_H
#define QUORUM_FILEIO_H
#include <stdio.h>

/* fopen(path, mode) for reading that refuses a folder: fopen takes one,
 * and reading it then fails (or finds nothing) far from where the user
 * could be told. NULL with errno set (EISDIR for a folder). */
FILE *file_open_read(const char *path, const char *mode);

#endif
