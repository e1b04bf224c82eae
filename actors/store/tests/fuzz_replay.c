// SPDX-License-Identifier: MIT
// fuzz_replay.c -- runs a libFuzzer target over files, without libFuzzer:
// `fuzz_replay DIR|FILE...` calls LLVMFuzzerTestOneInput once per file
// (a directory: every regular file in it) and prints how many it ran.
// Exit 0, or 1 when an argument cannot be read (a crash is a crash).
// Thread: one.

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE    *f = fopen(path, "rb");
	uint8_t *buf;
	long     n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
	    || fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL) {
			fclose(f);
		}
		fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
		return -1;
	}
	buf = malloc(n > 0 ? (size_t) n : 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
		fclose(f);
		free(buf);
		fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) n);
	free(buf);
	return 1;
}

int
main(int argc, char **argv)
{
	int i, ran = 0;

	for (i = 1; i < argc; i++) {
		struct stat    st;
		DIR           *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			fprintf(
			    stderr, "fuzz_replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0) {
				return 1;
			}
			ran++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.') {
				continue;
			}
			snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (run_file(path) < 0) {
					closedir(d);
					return 1;
				}
				ran++;
			}
		}
		closedir(d);
	}
	printf("fuzz_replay: %d inputs\n", ran);
	return ran > 0 ? 0 : 1;
}
