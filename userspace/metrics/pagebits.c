// SPDX-License-Identifier: MIT
#include "metrics/pagebits.h"

#include "server/server.h"
#ifdef CONFIG_XDP
#include "bpf/xdp_filter.h"
#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"
#endif

#include <stdio.h>
#include <string.h>

const char page_css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fff}"
	"h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}"
	"dl#summary{display:flex;flex-wrap:wrap;gap:.4em 2em;margin:.4em 0}"
	"dl#summary div{display:flex;gap:.4em}dt{color:#666}dd{margin:0;font-weight:600}"
	"a{color:#0645ad}a.on{font-weight:700;text-decoration:none;color:#222}"
	"table{border-collapse:collapse;width:100%;max-width:72em}"
	"th,td{text-align:left;padding:.2em .6em;border-bottom:1px solid #ddd}"
	"th.asc a::after{content:' \\25B2'}th.desc a::after{content:' \\25BC'}"
	"td.name{font-family:ui-monospace,monospace}"
	"tr.st-issued td.state{color:#176b2c}tr.st-pending td.state{color:#8a5a00}"
	"tr.st-unknown td.state{color:#b3261e;font-weight:600}"
	"#state-counts a{margin-right:1em}form{margin:.5em 0}input[type=search]{width:20em}"
	"svg{max-width:100%;height:auto;background:#fafafa;border:1px solid #eee}"
	"svg text{font:11px sans-serif;fill:#555}.req{stroke:#0645ad}"
	".ev{stroke:#d9480f;stroke-dasharray:5 3}"
	"svg polyline{fill:none;stroke-width:1.5}footer{margin-top:2em;color:#666}";

void put_html(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': mbuf_puts(b, "&amp;"); break;
		case '<': mbuf_puts(b, "&lt;"); break;
		case '>': mbuf_puts(b, "&gt;"); break;
		case '"': mbuf_puts(b, "&quot;"); break;
		case '\'': mbuf_puts(b, "&#39;"); break;
		default: mbuf_put(b, s, 1);
		}
	}
}

void put_urlenc(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '*')
			mbuf_put(b, s, 1);
		else
			mbuf_printf(b, "%%%02X", c);
	}
}

void fmt_duration(int64_t s, char *out, size_t cap)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, cap, "%lld d %02lld:%02lld:%02lld", (long long)(s / 86400),
			 (long long)(s / 3600 % 24), (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(out, cap, "%02lld:%02lld:%02lld", (long long)(s / 3600),
			 (long long)(s / 60 % 60), (long long)(s % 60));
}

static void fmt_day(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d", &tm);
}

void fmt_expiry(int64_t not_after, time_t now, char *out, size_t cap)
{
	char day[32];
	int64_t left = not_after - now;

	if (!not_after) {
		snprintf(out, cap, "—");
		return;
	}
	fmt_day(not_after, day, sizeof(day));
	if (left >= 0)
		snprintf(out, cap, "%s (in %lld d)", day, (long long)(left / 86400));
	else
		snprintf(out, cap, "%s (%lld d ago)", day, (long long)(-left / 86400));
}

const char *fmt_utc(time_t t, char *out, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return out;
}

void dom_reason(const struct dom_row *d, time_t now, char *out, size_t cap)
{
	char day[32];

	fmt_day(d->not_after, day, sizeof(day));
	switch (d->state) {
	case DS_ISSUED:
		/* renewal is due once a third of the lifetime is left */
		if (d->not_after - now < (d->not_after - d->not_before) / 3)
			snprintf(out, cap, "valid, renewal due: expires %s", day);
		else
			snprintf(out, cap, "valid until %s", day);
		break;
	case DS_PENDING:
		if (d->not_after)
			snprintf(out, cap, "certificate not valid before its start");
		else
			snprintf(out, cap, "no certificate yet");
		break;
	default:
		if (d->not_after && now > d->not_after)
			snprintf(out, cap, "certificate expired on %s", day);
		else
			snprintf(out, cap, "certificate refused: %s", d->note ? d->note : "unknown");
	}
}

/* ---------------------------------------------------------------- the chart */

#define CW 640
#define CH 180
#define PAD_L 48
#define PAD_B 22
#define SPAN_S (RATE_STEP_S * (RATE_SAMPLES - 1))

static double rate(const struct rate_sample *a, const struct rate_sample *b, int which)
{
	double dt = (double)(b->t - a->t);
	uint64_t d = which ? b->events - a->events : b->requests - a->requests;

	return dt > 0 ? (double)d / dt : 0;
}

/* The smallest of 1, 2, 5 times a power of ten at or above v. */
static double nice_max(double v)
{
	double m = 1;

	while (m < v) {
		if (m * 2 >= v)
			return m * 2;
		if (m * 5 >= v)
			return m * 5;
		m *= 10;
	}
	return m;
}

static void polyline(struct mbuf *b, const struct rate_sample *s, size_t n, time_t now,
		     double top, int which)
{
	mbuf_printf(b, "<polyline class=\"%s\" points=\"", which ? "ev" : "req");
	for (size_t i = 1; i < n; i++) {
		double x = PAD_L + (double)(CW - PAD_L) * (1.0 - (double)(now - s[i].t) / SPAN_S);
		double y = (CH - PAD_B) * (1.0 - rate(&s[i - 1], &s[i], which) / top);

		mbuf_printf(b, "%s%.1f,%.1f", i > 1 ? " " : "", x < PAD_L ? PAD_L : x, y);
	}
	mbuf_puts(b, "\"/>");
}

void rate_chart(struct mbuf *b, const struct rate_sample *s, size_t n, time_t now)
{
	double top = 0;

	for (size_t i = 1; i < n; i++)
		for (int k = 0; k < 2; k++)
			if (rate(&s[i - 1], &s[i], k) > top)
				top = rate(&s[i - 1], &s[i], k);
	top = nice_max(top);
	mbuf_printf(b, "<svg id=\"rate-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
		    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
		    "aria-label=\"requests and events per second\">", CW, CH, CW, CH);
	mbuf_printf(b, "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>"
		    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>",
		    PAD_L, PAD_L, CH - PAD_B, PAD_L, CH - PAD_B, CW, CH - PAD_B);
	mbuf_printf(b, "<text x=\"4\" y=\"12\">%g/s</text><text x=\"4\" y=\"%d\">0</text>"
		    "<text x=\"%d\" y=\"%d\">-10 min</text><text x=\"%d\" y=\"%d\">now</text>",
		    top, CH - PAD_B, PAD_L, CH - 6, CW - 28, CH - 6);
	mbuf_printf(b, "<text x=\"%d\" y=\"12\" style=\"fill:#0645ad\">requests/s</text>"
		    "<text x=\"%d\" y=\"12\" style=\"fill:#d9480f\">events/s (dashed)</text>",
		    PAD_L + 10, PAD_L + 100);
	if (n < 2)
		mbuf_puts(b, "<text x=\"200\" y=\"90\">no samples yet</text>");
	polyline(b, s, n, now, top, 0);
	polyline(b, s, n, now, top, 1);
	mbuf_puts(b, "</svg>\n");
}

/* ---------------------------------------------------------------- XDP */

#ifdef CONFIG_XDP
void xdp_section(struct mbuf *b, struct server *srv)
{
	struct xdp_counter c[XDP_R_MAX];

	mbuf_puts(b, "<section id=\"xdp\"><h2>XDP filter</h2>\n");
	if (!srv->xdp || xdp_runtime_counters(srv->xdp, c)) {
		mbuf_puts(b, "<p>Not attached.</p></section>\n");
		return;
	}
	mbuf_puts(b, "<table id=\"xdp-counters\"><thead><tr><th>Reason</th><th>Packets</th>"
		     "<th>Bytes</th></tr></thead><tbody>\n");
	for (unsigned r = 0; r < XDP_R_MAX; r++)
		mbuf_printf(b, "<tr><td>%s</td><td>%llu</td><td>%llu</td></tr>\n",
			    xdp_reason_name(r), (unsigned long long)c[r].packets,
			    (unsigned long long)c[r].bytes);
	mbuf_puts(b, "</tbody></table></section>\n");
}
#else
void xdp_section(struct mbuf *b, struct server *srv)
{
	(void)srv;
	mbuf_puts(b, "<section id=\"xdp\"><h2>XDP filter</h2><p>Not in this build.</p>"
		     "</section>\n");
}
#endif
