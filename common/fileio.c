/* common/fileio: see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <sys/stat.h>

FILE *file_open_read(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);
	struct stat st;
	if (f && !fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		errno = EISDIR;
		return NULL;
	}
	return f;
}
