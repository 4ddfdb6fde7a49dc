/*
 * progress.c - download progress on stderr: a bar redrawn in place when
 * stderr is a terminal (bytes, rate, time left), otherwise one line per
 * file when it is done, so that logs stay readable. Quiet (-q) shows neither.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "sources/sources.h"

struct qi_progress {
	qi_handle *h;
	char *file;
	int64_t total, start, have;
	double t0, last_draw;
	bool tty, drawn;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "53.0 KiB" style sizes. */
static void human(double n, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", n, units[u]);
}

struct qi_progress *qi_progress_start(qi_handle *h, const char *file, int64_t total, int64_t start)
{
	struct qi_progress *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->h = h;
	p->file = qi_xstrdup(file);
	p->total = total;
	p->start = p->have = start;
	p->t0 = now();
	const char *term = getenv("TERM");
	p->tty = qi_verbosity(h) >= 0 && isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
	return p;
}

static void draw(struct qi_progress *p, double t)
{
	char have[32], rate[32], left[32] = "--:--";
	double secs = t - p->t0;
	double r = secs > 0 ? (double)(p->have - p->start) / secs : 0;
	human((double)p->have, have, sizeof(have));
	human(r, rate, sizeof(rate));
	int pct = -1;
	if (p->total > 0) {
		pct = (int)(100.0 * (double)p->have / (double)p->total);
		if (pct > 100)
			pct = 100;
		if (r > 0) {
			long s = (long)((double)(p->total - p->have) / r);
			snprintf(left, sizeof(left), "%02ld:%02ld", s / 60 % 100, s % 60);
		}
	}
	char line[256];
	if (pct < 0) {	/* size unknown: no bar, no time left */
		snprintf(line, sizeof(line), "%-28.28s %10s %10s/s ", p->file, have, rate);
	} else {
		char bar[23];
		memset(bar, ' ', 22);
		bar[0] = '[';
		bar[21] = ']';
		bar[22] = '\0';
		for (int i = 0; i < pct / 5; i++)
			bar[1 + i] = '#';
		snprintf(line, sizeof(line), "%-28.28s %s %3d%% %10s %10s/s %s ", p->file, bar, pct, have, rate, left);
	}
	/* Never wider than the terminal: a wrapped line cannot be redrawn. */
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && (size_t)ws.ws_col - 1 < sizeof(line))
		line[ws.ws_col - 1] = '\0';
	fprintf(stderr, "\r%s", line);
	fflush(stderr);
	p->drawn = true;
	p->last_draw = t;
}

void qi_progress_update(struct qi_progress *p, int64_t have)
{
	if (!p)
		return;
	p->have = have;
	if (!p->tty)
		return;
	double t = now();
	if (t - p->last_draw >= 0.1)
		draw(p, t);
}

void qi_progress_done(struct qi_progress *p, bool ok, const char *origin)
{
	if (!p)
		return;
	double t = now();
	if (p->tty && p->drawn) {
		if (ok)
			draw(p, t);
		fputc('\n', stderr);
	}
	if (ok) {
		char got[32], rate[32];
		double secs = t - p->t0;
		human((double)(p->have - p->start), got, sizeof(got));
		human(secs > 0 ? (double)(p->have - p->start) / secs : 0, rate, sizeof(rate));
		qi_info(p->h, "fetched %s: %s in %.1fs (%s/s) from %s", p->file, got, secs, rate, origin);
	}
	free(p->file);
	free(p);
}
