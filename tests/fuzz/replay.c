/*
 * Replay a fuzz corpus without libFuzzer: runs LLVMFuzzerTestOneInput over
 * every regular file in the directories (or the files) named on the
 * command line, so the corpus is a regression test in normal builds.  A
 * crash or sanitizer report fails the run; otherwise it prints the count.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger than any frame a receiving socket accepts from an untrusted peer. */
#define REPLAY_MAX_INPUT (64 * 1024 * 1024)

/* Run one file.  Returns 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
        struct stat st;
        uint8_t *buf;
        size_t n;
        FILE *fp = fopen(path, "rb");

        if (fp == NULL) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (fstat(fileno(fp), &st) == -1 || st.st_size > REPLAY_MAX_INPUT) {
                fprintf(stderr, "replay: %s: unreadable or larger than %d bytes\n", path,
                        REPLAY_MAX_INPUT);
                fclose(fp);
                return -1;
        }
        /* One spare byte so an empty file still gets a real pointer. */
        buf = malloc((size_t)st.st_size + 1);
        if (buf == NULL) {
                fclose(fp);
                return -1;
        }
        n = fread(buf, 1, (size_t)st.st_size, fp);
        fclose(fp);
        if (n != (size_t)st.st_size) {
                fprintf(stderr, "replay: %s: short read\n", path);
                free(buf);
                return -1;
        }
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 0;
}

static int
is_dir(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
main(int argc, char **argv)
{
        unsigned long ran = 0, failed = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                DIR *d;
                struct dirent *e;

                if (!is_dir(argv[i])) {
                        if (replay_file(argv[i]) == -1)
                                failed++;
                        else
                                ran++;
                        continue;
                }
                d = opendir(argv[i]);
                if (d == NULL) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        failed++;
                        continue;
                }
                while ((e = readdir(d)) != NULL) {
                        char path[4096];
                        struct stat st;

                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
                                continue;
                        if (replay_file(path) == -1)
                                failed++;
                        else
                                ran++;
                }
                closedir(d);
        }
        if (ran == 0 && failed == 0) {
                fprintf(stderr, "replay: no inputs found\n");
                return 1;
        }
        printf("%lu passed, %lu failed\n", ran, failed);
        return failed ? 1 : 0;
}
