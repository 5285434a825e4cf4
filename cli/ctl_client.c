/* ctl_client: control-socket client (protocol in mta/control.h). */
#include "ctl_client.h"
#include "config.h"
#include "mg_err.h"


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void shift(int *argc, char **argv, int at, int n)
{
    for (int i = at; i + n <= *argc; i++)
        argv[i] = argv[i + n];
    *argc -= n;
}

int ctl_client_socket_path(int *argc, char **argv, char *buf, unsigned long bufsz)
{
    const char *sock = NULL, *conf = NULL;
    for (int i = 1; i < *argc;) {
        if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "-c")) && i + 1 < *argc) {
            if (argv[i][1] == 's')
                sock = argv[i + 1];
            else
                conf = argv[i + 1];
            shift(argc, argv, i, 2);
        } else {
            i++;
        }
    }
    if (sock) {
        snprintf(buf, bufsz, "%s", sock);
        return 0;
    }
    if (conf) {
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = config_load(conf, &cfg, &errs);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        if (rc != 0) {
            fprintf(stderr, "mixgate: cannot use %s: %s\n", conf, mg_strerror(rc));
            return 2;
        }
        snprintf(buf, bufsz, "%s", cfg->global.control_socket);
        config_free(cfg);
        return 0;
    }
    const char *env = getenv("MIXGATE_CONTROL");
    if (env && *env) {
        snprintf(buf, bufsz, "%s", env);
        return 0;
    }
    const char *var = getenv("MIXGATE_VAR");
    snprintf(buf, bufsz, "%s/control.sock", var && *var ? var : "./var");
    return 0;
}

static void to_stdout(void *arg, const char *l, size_t n)
{
    (void)arg;
    fwrite(l, 1, n, stdout);
}

int ctl_client_request(const char *sock, int argc, char **argv)
{
    return ctl_client_request_lines(sock, argc, argv, to_stdout, NULL);
}

int ctl_client_request_lines(const char *sock, int argc, char **argv,
                             void (*on_line)(void *arg, const char *l, size_t n), void *arg)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof sa.sun_path) {
        fprintf(stderr, "mixgate: control socket path too long: %s\n", sock);
        return 2;
    }
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "mixgate: cannot connect to %s: %s (is mixgated running? -s or -c names the socket)\n",
                sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    char line[4096];
    size_t o = 0;
    for (int i = 0; i < argc; i++) {
        int n = snprintf(line + o, sizeof line - o, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof line - o) {
            fprintf(stderr, "mixgate: request too long\n");
            close(fd);
            return 2;
        }
        o += (size_t)n;
    }
    line[o++] = '\n';
    if (write(fd, line, o) != (ssize_t)o) {
        fprintf(stderr, "mixgate: write to %s failed: %s\n", sock, strerror(errno));
        close(fd);
        return 2;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 2;
    }
    char *l = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = -1;
    while ((n = getline(&l, &cap, f)) > 0) {
        if (l[0] == '=' && l[1] != '=') {
            if (!strncmp(l, "=OK", 3)) {
                status = 0;
            } else {
                fprintf(stderr, "mixgate: %s", l[4] ? l + 5 : "error\n");
                status = 1;
            }
            break;
        }
        on_line(arg, l[0] == '=' ? l + 1 : l, (size_t)n - (l[0] == '='));
    }
    free(l);
    fclose(f);
    if (status < 0) {
        fprintf(stderr, "mixgate: the daemon closed the connection without an answer\n");
        return 2;
    }
    return status;
}
