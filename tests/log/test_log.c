/* tests/log/test_log.c: records, formatters (JSON, logfmt, text), presets,
 * hostile input checked with Python's json module, levels and hierarchy,
 * argument evaluation below the level, rate limiting, trace and request
 * id stamping, callbacks, files and reopen, the raw signal-safe path. */
#include "log_test.h"

#include <errno.h>
#include <pty.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "core/fastclock.h"
#include "core/tctx.h"

/* ---- JSON: hostile input ---------------------------------------------------- */

static void test_log_json__hostile_input_stays_valid(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.json.hostile", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    char ctl[33];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)(i + 1 == 32 ? 0x7F : i + 1);
    ctl[32] = '\0';
    char with_nul[] = {'a', '\0', 'b'};
    /* Invalid UTF-8: lone continuation, overlong, surrogate, truncated, > U+10FFFF. */
    const char *bad = "x\x80y\xC0\xAFz\xED\xA0\x80w\xE2\x82v\xF4\x90\x80\x80u\xFF";
    LUMEN_LOG_INFO(lg, "quote\" backslash\\ newline\n cr\r tab\t \x1b[31mred",
                   LUMEN_STR("ctl", ctl), LUMEN_STRN("nul", with_nul, 3), LUMEN_STR("bad", bad),
                   LUMEN_STR("k\"ey\n\\", "v"), LUMEN_STR("sep", "\xE2\x80\xA8\xE2\x80\xA9"),
                   LUMEN_STR("nullval", NULL), LUMEN_BYTES("bytes", "\x00\xff", 2),
                   LUMEN_FLOAT("nan", 0.0 / 0.0), LUMEN_FLOAT("inf", 1.0 / 0.0),
                   LUMEN_FLOAT("neg", -1.25), LUMEN_INT("min", INT64_MIN),
                   LUMEN_UINT("max", UINT64_MAX), LUMEN_BOOL("yes", 1),
                   LUMEN_STATUS("err", LUMEN_EINVAL), LUMEN_STR("fmt", "%s%n%x%p"));
    /* A field value of exactly 1 MiB + 10 bytes ending in a multi-byte char. */
    size_t big = ((size_t)1 << 20) + 10;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    memcpy(s + ((size_t)1 << 20) - 1, "\xE2\x82\xAC", 3); /* straddles the limit */
    s[big] = '\0';
    LUMEN_LOG_WARN(lg, s, LUMEN_STR("big", s));
    free(s);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check(
        "assert len(recs) == 2, len(recs)\n"
        "r = recs[0]\n"
        "assert r['msg'] == 'quote\" backslash\\\\ newline\\n cr\\r tab\\t \\x1b[31mred', "
        "r['msg']\n"
        "assert r['ctl'] == ''.join(chr(i) for i in range(1, 32)) + '\\x7f'\n"
        "assert r['nul'] == 'a\\x00b'\n"
        "assert r['bad'] == "
        "'x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\\ufffdw\\ufffd\\ufffdv\\ufffd\\ufffd\\ufffd\\ufffd"
        "u\\ufffd', ascii(r['bad'])\n"
        "assert r['k\"ey\\n\\\\'] == 'v'\n"
        "assert r['sep'] == '\\u2028\\u2029'\n"
        "assert r['nullval'] == ''\n"
        "assert r['bytes'] == '00ff'\n"
        "assert r['nan'] == 'NaN' and r['inf'] == '+Inf' and r['neg'] == -1.25\n"
        "assert r['min'] == -2**63 and r['max'] == 2**64 - 1\n"
        "assert r['yes'] is True and r['err'] == 'LUMEN_EINVAL'\n"
        "assert r['fmt'] == '%s%n%x%p'\n"
        "assert r['level'] == 'info' and r['logger'] == 't.json.hostile'\n"
        "import re\n"
        "assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z', r['ts'])\n"
        "b = recs[1]\n"
        "for v in (b['big'], b['msg']):\n"
        "    assert v.startswith('a' * 1000)\n"
        "    assert v.endswith('...[truncated 11 bytes]'), v[-60:]\n"
        "    assert len(v.encode()) <= (1 << 20) + 40\n"
        "    assert '\\ufffd' not in v\n"
        "assert b['level'] == 'warn'\n"
        "assert '\\x1b' not in lines[0]\n",
        out, n, 1);
    free(out);
}

static void test_log_json__float_text_reads_back(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.json.float", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    const double vals[] = {
        0.0123, 0.1, 0.3, 1.5, 2.0, -0.001, 1e-7, 1e300, 123456.789, 0.1 + 0.2, 3.141592653589793,
        0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        LUMEN_LOG_INFO(lg, "f", LUMEN_FLOAT("v", vals[i]));
    /* Random values of every magnitude, short decimals (the fast path)
     * and decimals of up to 17 digits: each must read back to the same
     * bits, and be the shortest text that does. */
    static const double p10[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 4500; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        if (i % 3 == 0) {
            memcpy(&d, &x, sizeof d);
            if (d != d || d - d != 0)
                continue;
        } else if (i % 3 == 1) {
            d = (double)(int64_t)(x % 2000000001 - 1000000000) / 1e6 * ((i % 7) ? 1 : 1e-9);
        } else {
            d = (double)(x % 100000000000000000ULL >> (x % 40)) / p10[(x >> 58) % 18];
        }
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        LUMEN_LOG_INFO(lg, "r", LUMEN_FLOAT("v", d), LUMEN_UINT("bits", bits));
    }
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check("import struct\n"
                "for r in recs[12:]:\n"
                "    assert struct.pack('<d', r['v']) == struct.pack('<Q', r['bits']), r\n"
                "assert len(recs) > 3000\n"
                "want = [0.0123, 0.1, 0.3, 1.5, 2.0, -0.001, 1e-7, 1e300, 123456.789, 0.1+0.2, "
                "3.141592653589793, 0]\n"
                "got = [r['v'] for r in recs[:12]]\n"
                "assert got == want, got\n"
                "assert '\"v\":0.0123}' in lines[0], lines[0]\n"
                "import re\n"
                "short = 0\n"
                "for l, r in zip(lines[12:], recs[12:]):\n"
                "    t = re.search(r'\"v\":([^,}]+)', l).group(1)\n"
                "    if 1e-4 <= abs(r['v']) < 1e15:\n"
                "        assert t == repr(r['v']), (t, repr(r['v']))\n"
                "        short += 1\n"
                "assert short > 1500, short\n",
                out, n, 1);
    free(out);
}

/* ---- presets and correlation ---------------------------------------------------- */

static void fill_span(void)
{
    lumen__tctx *t = lumen__tctx_get();
    for (int i = 0; i < 16; i++)
        t->trace_id[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 8; i++)
        t->span_id[i] = (uint8_t)(0x10 + i);
    t->trace_flags = 1;
    t->has_span = true;
}

static void clear_span(void)
{
    lumen__tctx_get()->has_span = false;
}

static void test_log_presets__field_names(void **state)
{
    (void)state;
    const lumen_log_preset presets[] = {LUMEN_LOG_PRESET_LUMEN, LUMEN_LOG_PRESET_OTEL,
                                        LUMEN_LOG_PRESET_ECS};
    const char *checks[] = {
        "r = recs[0]\n"
        "assert list(r)[:4] == ['ts', 'level', 'logger', 'msg'], list(r)\n"
        "assert r['trace_id'] == 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf' and r['span_id'] == "
        "'1011121314151617'\n"
        "assert r['trace_flags'] == '01' and r['request_id'] == 'req-42' and r['user'] == 'bob'\n"
        "assert r['file'].endswith('test_log.c') and r['line'] > 0 and r['func'] == "
        "'test_log_presets__field_names'\n"
        "assert 'trace_id' not in recs[1]\n",
        "r = recs[0]\n"
        "assert r['severity_text'] == 'INFO' and r['severity_number'] == 9 and r['body'] == "
        "'hello'\n"
        "assert r['scope'] == 't.preset' and 'timestamp' in r\n"
        "assert r['trace_id'] == 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf' and r['span_id'] == "
        "'1011121314151617' and r['trace_flags'] == '01'\n"
        "assert r['code.lineno'] > 0 and r['code.filepath'].endswith('test_log.c')\n",
        "r = recs[0]\n"
        "assert list(r)[:3] == ['@timestamp', 'log.level', 'message'], list(r)\n"
        "assert r['log.level'] == 'info' and r['message'] == 'hello' and r['ecs.version']\n"
        "assert r['trace.id'] == 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf' and r['span.id'] == "
        "'1011121314151617'\n"
        "assert r['log.logger'] == 't.preset' and r['http.request.id'] == 'req-42'\n"
        "assert r['log.origin.file.line'] > 0\n",
    };
    for (int i = 0; i < 3; i++) {
        lt_cap c;
        lumen_logger *lg =
            lt_cap_open(&c, "t.preset", LUMEN_LOG_FORMAT_JSON, presets[i], LUMEN_LOG_SOURCE);
        fill_span();
        assert_int_equal(lumen_log_set_request_id("req-42"), LUMEN_OK);
        LUMEN_LOG_INFO(lg, "hello", LUMEN_STR("user", "bob"));
        clear_span();
        lumen_log_clear_request_id();
        LUMEN_LOG_INFO(lg, "hello again");
        size_t n;
        char *out = lt_cap_read(&c, &n);
        lt_py_check(checks[i], out, n, 1);
        free(out);
    }
    char longid[80];
    memset(longid, 'x', sizeof longid - 1);
    longid[79] = '\0';
    assert_int_equal(lumen_log_set_request_id(longid), LUMEN_ETOOBIG);
    assert_int_equal(lumen__tctx_get()->request_id_len, 0);
}

/* ---- logfmt and text --------------------------------------------------------- */

static const char LOGFMT_PARSER[] =
    "import re\n"
    "tok = re.compile(r'([^ =\"]+)=(\"(?:[^\"\\\\]|\\\\.)*\"|[^ \"=]*)( |$)')\n"
    "def parse(l):\n"
    "    d, pos = {}, 0\n"
    "    while pos < len(l):\n"
    "        m = tok.match(l, pos)\n"
    "        assert m, 'bad logfmt at %d: %r' % (pos, l[pos:pos+60])\n"
    "        v = m.group(2)\n"
    "        d[m.group(1)] = json.loads(v) if v.startswith('\"') else v\n"
    "        pos = m.end()\n"
    "    return d\n"
    "recs = [parse(l) for l in lines]\n";

static void test_log_logfmt__one_record_per_line(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.logfmt", LUMEN_LOG_FORMAT_LOGFMT, LUMEN_LOG_PRESET_LUMEN, 0);
    LUMEN_LOG_INFO(lg, "two\nlines %s%n%x", LUMEN_STR("a b", "x=y \"q\"\r\n"),
                   LUMEN_STR("bare", "ok"), LUMEN_STR("empty", ""), LUMEN_STR("bad", "\xff\x01"),
                   LUMEN_STR("", "nokey"), LUMEN_STR("null", "null"), LUMEN_INT("n", -3),
                   LUMEN_FLOAT("d", 0.5));
    LUMEN_LOG_ERROR(lg, "second");
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check((char *)LOGFMT_PARSER, out, n, 0);
    char script[4096];
    snprintf(script, sizeof script,
             "%s"
             "assert len(recs) == 2, lines\n"
             "r = recs[0]\n"
             "assert r['msg'] == 'two\\nlines %%s%%n%%x' and r['level'] == 'info' and r['logger'] "
             "== 't.logfmt'\n"
             "assert r['ab'] == 'x=y \"q\"\\r\\n' and r['bare'] == 'ok' and r['empty'] == ''\n"
             "assert r['bad'] == '\\ufffd\\x01' and r['_'] == 'nokey' and r['n'] == '-3' and "
             "r['d'] == '0.5'\n"
             "assert 'bare=ok' in lines[0] and 'empty=\"\"' in lines[0]\n"
             "assert recs[1]['level'] == 'error'\n",
             LOGFMT_PARSER);
    lt_py_check(script, out, n, 0);
    free(out);
}

static void test_log_text__escapes_terminal_controls(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.text", LUMEN_LOG_FORMAT_TEXT, LUMEN_LOG_PRESET_LUMEN, LUMEN_LOG_COLOR);
    LUMEN_LOG_WARN(lg, "evil \x1b[2J\nforged line", LUMEN_STR("v", "\x1b]0;title\x07"),
                   LUMEN_INT("status", 200));
    size_t n;
    char *out = lt_cap_read(&c, &n);
    /* Exactly one line; the only ESC bytes are lumen's own colour codes. */
    assert_int_equal(out[n - 1], '\n');
    assert_null(memchr(out, '\n', n - 1));
    assert_non_null(strstr(out, "\x1b[33mWARN\x1b[0m"));
    assert_non_null(strstr(out, "t.text: evil \\u001b[2J\\nforged line"));
    assert_non_null(strstr(out, " status=200"));
    assert_null(strstr(out, "\x1b]"));
    assert_null(strstr(out, "\x1b[2J"));
    free(out);
}

static void test_log_text__chosen_on_a_terminal(void **state)
{
    (void)state;
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
        skip();
        return;
    }
    unsetenv("NO_COLOR");
    unsetenv("LUMEN_LOG_FORMAT");
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = slave; /* format AUTO: a terminal gets coloured text, unbatched */
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("t.tty");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG_INFO(lg, "on a terminal", LUMEN_INT("n", 1));
    /* No flush: a terminal gets each line at once. */
    char buf[512];
    ssize_t n = read(master, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\x1b[32mINFO\x1b[0m"));
    assert_non_null(strstr(buf, "t.tty: on a terminal n=1"));
    assert_null(strchr(buf, '{'));
    close(master);
    close(slave);
}

/* ---- levels, hierarchy, arguments ---------------------------------------------- */

static int side_effects;
static const char *touch(const char *s)
{
    side_effects++;
    return s;
}

static void test_log_levels__disabled_calls_evaluate_nothing(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "t.lazy", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    assert_int_equal(lumen_logger_set_level(lg, LUMEN_LOG_INFO), LUMEN_OK);
    side_effects = 0;
    LUMEN_LOG_DEBUG(lg, touch("m"), LUMEN_STR("a", touch("x")), LUMEN_INT("b", side_effects++));
    LUMEN_LOG_TRACE(lg, touch("m"), LUMEN_STR("a", touch("x")));
    LUMEN_LOG_EVERY_N(lg, LUMEN_LOG_DEBUG, 1, touch("m"), LUMEN_STR("a", touch("x")));
    assert_int_equal(side_effects, 0);
    LUMEN_LOG_INFO(lg, touch("m"), LUMEN_STR("a", touch("x")));
    assert_int_equal(side_effects, 2);
    /* The most fields a macro call takes: 31 after the message. */
    LUMEN_LOG_INFO(
        lg, "many", LUMEN_INT("f1", 1), LUMEN_INT("f2", 2), LUMEN_INT("f3", 3), LUMEN_INT("f4", 4),
        LUMEN_INT("f5", 5), LUMEN_INT("f6", 6), LUMEN_INT("f7", 7), LUMEN_INT("f8", 8),
        LUMEN_INT("f9", 9), LUMEN_INT("f10", 10), LUMEN_INT("f11", 11), LUMEN_INT("f12", 12),
        LUMEN_INT("f13", 13), LUMEN_INT("f14", 14), LUMEN_INT("f15", 15), LUMEN_INT("f16", 16),
        LUMEN_INT("f17", 17), LUMEN_INT("f18", 18), LUMEN_INT("f19", 19), LUMEN_INT("f20", 20),
        LUMEN_INT("f21", 21), LUMEN_INT("f22", 22), LUMEN_INT("f23", 23), LUMEN_INT("f24", 24),
        LUMEN_INT("f25", 25), LUMEN_INT("f26", 26), LUMEN_INT("f27", 27), LUMEN_INT("f28", 28),
        LUMEN_INT("f29", 29), LUMEN_INT("f30", 30), LUMEN_BYTES("f31", "\x01", 1));
    size_t n;
    char *out = lt_cap_read(&c, &n);
    assert_non_null(strstr(out, "\"msg\":\"m\",\"a\":\"x\"}\n"));
    assert_non_null(strstr(out, "\"f30\":30,\"f31\":\"01\"}\n"));
    free(out);
}

/* A NULL logger is a no-op for every macro, as for lumen_log_write: it
 * evaluates nothing and returns (in 0.1 the macros dereferenced it). */
static void test_log_levels__null_logger_is_a_noop(void **state)
{
    (void)state;
    lumen_logger *none = NULL;
    side_effects = 0;
    LUMEN_LOG_INFO(NULL, touch("m"), LUMEN_STR("a", touch("x")));
    LUMEN_LOG_FATAL(none, touch("m"));
    LUMEN_LOG(none, LUMEN_LOG_ERROR, touch("m"), LUMEN_INT("i", side_effects++));
    LUMEN_LOG_EVERY_N(none, LUMEN_LOG_ERROR, 1, touch("m"));
    LUMEN_LOG_FIRST_N(NULL, LUMEN_LOG_ERROR, 5, touch("m"));
    LUMEN_LOG_EVERY_MS(none, LUMEN_LOG_ERROR, 1, touch("m"));
    assert_false(LUMEN_LOG_ENABLED(none, LUMEN_LOG_FATAL));
    assert_false(LUMEN_LOG_ENABLED(NULL, LUMEN_LOG_FATAL));
    assert_int_equal(side_effects, 0);
    /* Each argument of LUMEN_LOG_ENABLED is evaluated once. */
    lumen_logger *seq[1] = {lumen_logger_get("t.enabled")};
    int i = 0, j = 0;
    (void)LUMEN_LOG_ENABLED(seq[i++], LUMEN_LOG_INFO + j++);
    assert_int_equal(i, 1);
    assert_int_equal(j, 1);
    lumen_log_write(NULL, LUMEN_LOG_ERROR, NULL, "m", NULL, 0, 0);
}

static void test_log_handler__options_version(void **state)
{
    (void)state;
    lumen_log_handler_options o;
    memset(&o, 0, sizeof o); /* version 0: never initialised */
    o.sink = LUMEN_LOG_SINK_STDERR;
    lumen_log_handler *h = (lumen_log_handler *)1;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_EVERSION);
    assert_null(h);
    o.version = LUMEN_LOG_HANDLER_OPTIONS_VERSION + 1;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_EVERSION);
    assert_int_equal(lumen_log_handler_options_init(&o, LUMEN_LOG_HANDLER_OPTIONS_VERSION),
                     LUMEN_OK);
    assert_int_equal(o.sink, LUMEN_LOG_SINK_STDOUT);
    assert_int_equal(lumen_log_handler_options_init(&o, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_log_handler_options_init(NULL, 1), LUMEN_EINVAL);
    /* The fd of a zeroed struct is 0, read only with the FD sink. */
    lumen_log_handler_options d = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    assert_int_equal(d.version, LUMEN_LOG_HANDLER_OPTIONS_VERSION);
    assert_int_equal(d.fd, 0);
    d.sink = LUMEN_LOG_SINK_FD;
    d.fd = -1;
    assert_int_equal(lumen_log_handler_new(&h, &d), LUMEN_EINVAL);
    /* Flush with nothing queued is at once OK, whatever the timeout. */
    assert_int_equal(lumen_log_flush(0), LUMEN_OK);
    assert_int_equal(lumen_log_flush(1), LUMEN_OK);
    assert_int_equal(lumen_log_flush(LUMEN_WAIT_FOREVER), LUMEN_OK);
}

static void test_log_levels__hierarchy_inherits(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *app = lt_cap_open(&c, "h", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    lumen_logger *db = lumen_logger_get("h.db");
    lumen_logger *deep = lumen_logger_get("h.db.pool.x");
    assert_ptr_equal(lumen_logger_get("h.db"), db);
    assert_string_equal(lumen_logger_name(deep), "h.db.pool.x");
    assert_int_equal(lumen_logger_set_level(app, LUMEN_LOG_WARN), LUMEN_OK);
    assert_int_equal(lumen_logger_level(db), LUMEN_LOG_WARN);
    assert_int_equal(lumen_logger_level(deep), LUMEN_LOG_WARN);
    assert_false(LUMEN_LOG_ENABLED(deep, LUMEN_LOG_INFO));
    assert_int_equal(lumen_log_set_levels("h.db=debug"), LUMEN_OK);
    assert_int_equal(lumen_logger_level(deep), LUMEN_LOG_DEBUG);
    assert_int_equal(lumen_logger_level(app), LUMEN_LOG_WARN);
    LUMEN_LOG_DEBUG(deep, "deep debug"); /* inherits app's handler */
    LUMEN_LOG_INFO(app, "app info");     /* below app's warn */
    assert_int_equal(lumen_log_set_levels("h.db=info, h = error"), LUMEN_OK);
    LUMEN_LOG_DEBUG(deep, "hidden");
    LUMEN_LOG_WARN(app, "hidden too");
    LUMEN_LOG_INFO(db, "db info");
    /* A bad spec changes nothing. */
    assert_int_equal(lumen_log_set_levels("h=debug,h.db=loud"), LUMEN_ECONFIG);
    assert_int_equal(lumen_log_set_levels("=debug"), LUMEN_ECONFIG);
    assert_int_equal(lumen_logger_level(app), LUMEN_LOG_ERROR);
    assert_int_equal(lumen_logger_set_level(db, LUMEN_LOG_INHERIT), LUMEN_OK);
    assert_int_equal(lumen_logger_level(deep), LUMEN_LOG_ERROR);
    assert_int_equal(lumen_logger_set_level(db, (lumen_log_level)7), LUMEN_EINVAL);
    lumen_log_level l;
    assert_int_equal(lumen_log_level_parse(&l, "WARNING"), LUMEN_OK);
    assert_int_equal(l, LUMEN_LOG_WARN);
    assert_int_equal(lumen_log_level_parse(&l, "loud"), LUMEN_EINVAL);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check("assert [(r['logger'], r['msg']) for r in recs] == "
                "[('h.db.pool.x', 'deep debug'), ('h.db', 'db info')], recs\n",
                out, n, 1);
    free(out);
}

static void test_log_loggers__child_binds_fields(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "t.with", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    char rid[8] = "r-1";
    lumen_field bound[] = {LUMEN_STR("req", rid), LUMEN_INT("conn", 7)};
    lumen_logger *child = NULL, *grand = NULL;
    assert_int_equal(lumen_logger_with(&child, lg, bound, 2), LUMEN_OK);
    rid[0] = 'X'; /* copied */
    lumen_field more = LUMEN_BOOL("tls", 1);
    assert_int_equal(lumen_logger_with(&grand, child, &more, 1), LUMEN_OK);
    LUMEN_LOG_INFO(grand, "x", LUMEN_INT("n", 1));
    assert_int_equal(lumen_logger_set_level(lg, LUMEN_LOG_ERROR), LUMEN_OK);
    LUMEN_LOG_INFO(child, "below the parent's new level");
    lumen_logger_free(child);
    LUMEN_LOG_ERROR(grand, "y");
    lumen_logger_free(grand);
    lumen_logger_free(NULL);
    assert_int_equal(lumen_logger_with(&child, NULL, NULL, 0), LUMEN_EINVAL);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check(
        "assert len(recs) == 2, recs\n"
        "r = recs[0]\n"
        "assert r['req'] == 'r-1' and r['conn'] == 7 and r['tls'] is True and r['n'] == 1\n"
        "assert r['logger'] == 't.with' and recs[1]['msg'] == 'y' and recs[1]['conn'] == 7\n",
        out, n, 1);
    free(out);
}

/* ---- rate limiting ---------------------------------------------------------------- */

static void test_log_limit__every_first_interval(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "t.limit", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    for (int i = 0; i < 10; i++)
        LUMEN_LOG_EVERY_N(lg, LUMEN_LOG_INFO, 3, "every3", LUMEN_INT("i", i));
    for (int i = 0; i < 10; i++)
        LUMEN_LOG_FIRST_N(lg, LUMEN_LOG_INFO, 2, "first2", LUMEN_INT("i", i));
    for (int i = 0; i < 5; i++)
        LUMEN_LOG_EVERY_MS(lg, LUMEN_LOG_INFO, 5000, "ms", LUMEN_INT("i", i));
    usleep(250000);
    LUMEN_LOG_EVERY_MS(lg, LUMEN_LOG_INFO, 200, "ms2", LUMEN_INT("i", 5));
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check("e = [(r['i'], r.get('suppressed', 0)) for r in recs if r['msg'] == 'every3']\n"
                "assert e == [(0, 0), (3, 2), (6, 2), (9, 2)], e\n"
                "f = [r['i'] for r in recs if r['msg'] == 'first2']\n"
                "assert f == [0, 1], f\n"
                "m = [(r['i'], r.get('suppressed', 0)) for r in recs if r['msg'] == 'ms']\n"
                "assert m == [(0, 0)], m\n"
                "m2 = [(r['i'], r.get('suppressed', 0)) for r in recs if r['msg'] == 'ms2']\n"
                "assert m2 == [(5, 0)], m2\n",
                out, n, 1);
    free(out);
    /* The suppressed count a site reports: every call refused since its
     * last emitted one. */
    lumen_log_limit lim = {{0}};
    uint64_t s = 99;
    assert_true(lumen_log_limit_check(&s, &lim, LUMEN_LOG_LIMIT_EVERY_N, 3));
    assert_int_equal(s, 0);
    assert_false(lumen_log_limit_check(&s, &lim, LUMEN_LOG_LIMIT_EVERY_N, 3));
    assert_false(lumen_log_limit_check(&s, &lim, LUMEN_LOG_LIMIT_EVERY_N, 3));
    assert_true(lumen_log_limit_check(&s, &lim, LUMEN_LOG_LIMIT_EVERY_N, 3));
    assert_int_equal(s, 2);
    /* An interval site: the calls refused until the interval ends, however
     * many a busy machine lets through, are the count reported. */
    lumen_log_limit lim2 = {{0}};
    assert_true(lumen_log_limit_check(&s, &lim2, LUMEN_LOG_LIMIT_EVERY_MS, 100));
    assert_int_equal(s, 0);
    uint64_t refused = 0;
    int64_t give_up = lumen_monotonic_ns() + 10 * 1000000000LL;
    while (!lumen_log_limit_check(&s, &lim2, LUMEN_LOG_LIMIT_EVERY_MS, 100)) {
        refused++;
        assert_true(lumen_monotonic_ns() < give_up);
    }
    assert_int_equal(s, refused);
    assert_false(lumen_log_limit_check(NULL, NULL, LUMEN_LOG_LIMIT_EVERY_N, 1));
    assert_true(lumen_log_limit_check(NULL, &lim, LUMEN_LOG_LIMIT_EVERY_N, 1));
}

/* ---- sinks ------------------------------------------------------------------------- */

static int cb_calls;
static char cb_last[256];
static void on_line(lumen_log_level level, const char *line, size_t len, void *ud)
{
    assert_ptr_equal(ud, &cb_calls);
    assert_int_equal(line[len - 1], '\n');
    cb_calls++;
    snprintf(cb_last, sizeof cb_last, "%d %.*s", (int)level, (int)len, line);
}

static void test_log_sink__callback_gets_each_line(void **state)
{
    (void)state;
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_CALLBACK;
    o.callback = on_line;
    o.callback_ud = &cb_calls;
    o.format = LUMEN_LOG_FORMAT_LOGFMT;
    o.level = LUMEN_LOG_WARN;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("t.cb");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    assert_false(LUMEN_LOG_ENABLED(lg, LUMEN_LOG_INFO));
    LUMEN_LOG_INFO(lg, "no");
    LUMEN_LOG_ERROR(lg, "yes", LUMEN_INT("k", 1));
    assert_int_equal(cb_calls, 1);
    assert_non_null(strstr(cb_last, "17 ts="));
    assert_non_null(strstr(cb_last, "level=error logger=t.cb msg=yes k=1\n"));
    o.callback = NULL;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_EINVAL);
    /* syslog: accepted, and a line goes through (to whatever syslogd the
     * machine has, or nowhere) without a crash. */
    o.sink = LUMEN_LOG_SINK_SYSLOG;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *sl = lumen_logger_get("t.syslog");
    assert_int_equal(lumen_logger_set_handlers(sl, &h, 1), LUMEN_OK);
    LUMEN_LOG_ERROR(sl, "lumen test: %s%n is data", LUMEN_STR("k", "%n"));
    o.sink = (lumen_log_sink)6;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_EINVAL);
    assert_int_equal(lumen_log_handler_new(NULL, NULL), LUMEN_EINVAL);
}

static void test_log_sink__file_reopen_after_rotation(void **state)
{
    (void)state;
    char *dir = lt_tempdir();
    char path[600], moved[600];
    snprintf(path, sizeof path, "%s/app.log", dir);
    snprintf(moved, sizeof moved, "%s/app.log.1", dir);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FILE;
    o.path = path;
    o.format = LUMEN_LOG_FORMAT_JSON;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("t.file");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG_INFO(lg, "before");
    lumen_log_flush(0);
    assert_int_equal(rename(path, moved), 0);
    LUMEN_LOG_INFO(lg, "still old file");
    assert_int_equal(lumen_log_reopen(), LUMEN_OK);
    LUMEN_LOG_INFO(lg, "after");
    /* SIGHUP sets a flag; the next write reopens. */
    assert_int_equal(lumen_log_install_sighup(), LUMEN_OK);
    assert_int_equal(unlink(path), 0);
    raise(SIGHUP);
    LUMEN_LOG_WARN(lg, "after hup");
    lumen_log_flush(0);
    size_t n1, n2;
    char *a = lt_read_file(moved, &n1), *b = lt_read_file(path, &n2);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(strstr(a, "\"before\""));
    assert_non_null(strstr(a, "\"still old file\""));
    assert_null(strstr(a, "\"after\"")); /* went to the reopened file, since unlinked */
    assert_non_null(strstr(b, "\"after hup\""));
    assert_null(strstr(b, "\"before\""));
    free(a);
    free(b);
    o.path = "/nonexistent-dir/x.log";
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_ESYS);
    signal(SIGHUP, SIG_DFL);
    unlink(moved);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* ---- batching: when lines leave ------------------------------------------------------- */

static size_t file_size(const char *path)
{
    size_t n = 0;
    char *s = lt_read_file(path, &n);
    free(s);
    return n;
}

static lt_cap *sig_cap;
static void on_usr1_flush(int sig)
{
    (void)sig;
    lumen_log_flush_from_signal();
}

static void *one_line_thread(void *arg)
{
    LUMEN_LOG_INFO((lumen_logger *)arg, "from a thread that exits");
    return NULL;
}

static void test_log_batch__lines_leave_in_bounded_time(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "t.batch", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    /* The same file through a handler with a 400 ms flush interval: long
     * enough that a busy machine cannot pass it between the two lines
     * below, short enough to wait for. */
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = c.fd;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flush_interval_ms = 400;
    assert_int_equal(lumen_log_handler_new(&c.h, &o), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(lg, &c.h, 1), LUMEN_OK);
    /* An info line waits in the thread's batch... */
    int64_t t0 = lumen_now_ns();
    LUMEN_LOG_INFO(lg, "batched");
    size_t early = file_size(c.path);
    if (lumen_now_ns() - t0 < 300000000LL)
        assert_int_equal(early, 0);
    /* ...and leaves on its own, without a flush call, after the interval. */
    while (file_size(c.path) == 0 && lumen_now_ns() - t0 < 5000000000LL)
        usleep(5000);
    int64_t waited_ms = (lumen_now_ns() - t0) / 1000000;
    assert_true(file_size(c.path) > 0);
    assert_true(waited_ms >= 390);
    /* warn and above leave at once, with what was batched before them. */
    LUMEN_LOG_INFO(lg, "before warn");
    LUMEN_LOG_WARN(lg, "warn");
    size_t n = 0;
    char *s = lt_read_file(c.path, &n);
    assert_non_null(strstr(s, "\"before warn\""));
    assert_non_null(strstr(s, "\"warn\""));
    free(s);
    /* fatal flushes every handler. */
    LUMEN_LOG_INFO(lg, "before fatal");
    LUMEN_LOG_FATAL(lg, "fatal");
    s = lt_read_file(c.path, &n);
    assert_non_null(strstr(s, "\"before fatal\""));
    assert_non_null(strstr(s, "\"level\":\"fatal\""));
    free(s);
    /* The crash path writes what threads have batched. */
    LUMEN_LOG_INFO(lg, "before crash");
    sig_cap = &c;
    signal(SIGUSR1, on_usr1_flush);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    s = lt_read_file(c.path, &n);
    assert_non_null(strstr(s, "\"before crash\""));
    free(s);
    /* A thread's batch is written when the thread exits. */
    pthread_t t;
    pthread_create(&t, NULL, one_line_thread, lg);
    pthread_join(t, NULL);
    s = lt_read_file(c.path, &n);
    assert_non_null(strstr(s, "\"from a thread that exits\""));
    free(s);
    s = lt_cap_read(&c, &n);
    lt_py_check("assert len(recs) == 7, len(recs)\n", s, n, 1);
    free(s);
}

static void test_log_async__lines_leave_in_bounded_time(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.async.delay", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = c.fd;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = LUMEN_LOG_ASYNC;
    o.flush_interval_ms = 400;
    assert_int_equal(lumen_log_handler_new(&c.h, &o), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(lg, &c.h, 1), LUMEN_OK);
    /* An info line waits for its batch, at most the interval: still
     * unwritten a moment later (asserted only when that moment is well
     * inside the interval, which a busy machine may stretch). */
    int64_t t0 = lumen_now_ns();
    LUMEN_LOG_INFO(lg, "queued");
    usleep(20000);
    size_t early = file_size(c.path);
    if (lumen_now_ns() - t0 < 300000000LL)
        assert_int_equal(early, 0);
    while (file_size(c.path) == 0 && lumen_now_ns() - t0 < 5000000000LL)
        usleep(5000);
    int64_t waited_ms = (lumen_now_ns() - t0) / 1000000;
    assert_true(file_size(c.path) > 0);
    assert_true(waited_ms >= 390);
    /* A warning wakes the writer at once. */
    size_t before = file_size(c.path);
    t0 = lumen_now_ns();
    LUMEN_LOG_WARN(lg, "urgent");
    while (file_size(c.path) == before && lumen_now_ns() - t0 < 5000000000LL)
        usleep(2000);
    assert_true(file_size(c.path) > before);
    assert_true(lumen_now_ns() - t0 < 300000000LL);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check("assert [r['msg'] for r in recs] == ['queued', 'urgent'], recs\n", out, n, 1);
    free(out);
}

/* ---- raw path ---------------------------------------------------------------------- */

static int raw_fd = -1;
static void on_usr1(int sig)
{
    (void)sig;
    lumen_log_raw(raw_fd, LUMEN_LOG_FATAL, "crash \"here\"\n\x01\xff");
}

static void test_log_raw__signal_handler_line_is_json(void **state)
{
    (void)state;
    lt_cap c;
    lt_cap_open(&c, "t.raw", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    raw_fd = c.fd;
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    char longmsg[3000];
    memset(longmsg, '\x02', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    lumen_log_raw(c.fd, LUMEN_LOG_ERROR, longmsg);
    lumen_log_raw(c.fd, LUMEN_LOG_INFO, NULL);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    lt_py_check(
        "assert len(recs) == 3\n"
        "r = recs[0]\n"
        "assert r['msg'] == 'crash \"here\"\\n\\x01\\ufffd' and r['level'] == 'fatal' and "
        "r['logger'] == 'raw'\n"
        "import datetime\n"
        "t = datetime.datetime.strptime(r['ts'], '%Y-%m-%dT%H:%M:%S.%fZ')\n"
        "assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 60, r['ts']\n"
        "assert recs[1]['msg'].endswith('...[truncated]') and len(recs[1]['msg']) == 1024 + 14\n",
        out, n, 1);
    free(out);
    /* The signal-safe calendar arithmetic agrees with gmtime_r. */
    char a[32], b[32];
    int64_t samples[] = {0, 951782400LL * 1000000000 + 123456789, 4102444799LL * 1000000000,
                         1709164800LL * 1000000000, lumen_now_ns()};
    for (size_t i = 0; i < 5; i++) {
        lumen__rfc3339_us_safe(a, samples[i]);
        time_t t = (time_t)(samples[i] / 1000000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        assert_memory_equal(a, b, 19);
    }
}

/* ---- metrics glue links ---------------------------------------------------------------- */

static void test_log_misc__names_and_dropped(void **state)
{
    (void)state;
    assert_string_equal(lumen_log_level_name(LUMEN_LOG_FATAL), "fatal");
    assert_string_equal(lumen_log_level_name((lumen_log_level)3), "unknown");
    lumen_logger *root = lumen_logger_get(NULL);
    assert_ptr_equal(root, lumen_logger_get(""));
    assert_string_equal(lumen_logger_name(root), "");
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[299] = '\0';
    assert_ptr_equal(lumen_logger_get(name), root);
    (void)lumen_log_dropped();
}

/* Handlers are owned by the library for the life of the process
 * (lumen/log.h), also one that no logger uses: in the ASan build, whose
 * leak checker runs at exit, this fails if the library lost track of it. */
static void test_log_misc__unused_handler_is_owned(void **state)
{
    (void)state;
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_STDERR;
    o.level = LUMEN_LOG_OFF;
    lumen_log_handler *h = NULL;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    assert_non_null(h);
    h = NULL; /* no pointer to it left in the program */
}

/* ---- metrics in the default registry ------------------------------------------------------ */

static void test_log_metrics__events_by_level_and_drops(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg =
        lt_cap_open(&c, "t.metrics", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    LUMEN_LOG_ERROR(lg, "count me"); /* makes sure the family exists */
    char *before = NULL;
    assert_int_equal(lumen_registry_render_string(&before, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    for (int i = 0; i < 3; i++)
        LUMEN_LOG_ERROR(lg, "count me");
    LUMEN_LOG_DEBUG(lg, "and me");
    /* A sink that fails: the line is dropped and counted. */
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = 987; /* not open: EBADF */
    o.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *bad = lumen_logger_get("t.metrics.bad");
    assert_int_equal(lumen_logger_set_handlers(bad, &h, 1), LUMEN_OK);
    uint64_t d0 = lumen_log_dropped();
    LUMEN_LOG_ERROR(bad, "lost");
    assert_int_equal(lumen_log_dropped(), d0 + 1);
    char *after = NULL;
    assert_int_equal(lumen_registry_render_string(&after, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    /* Hand both renderings to the real parser and compare the deltas. */
    size_t lb = strlen(before), la = strlen(after);
    char *both = malloc(lb + la + 2);
    memcpy(both, before, lb);
    both[lb] = '\0';
    memcpy(both + lb + 1, after, la + 1);
    lt_py_check("from prometheus_client.parser import text_string_to_metric_families as p\n"
                "a, b = data.split(b'\\0')\n"
                "def vals(t):\n"
                "    return {(s.name, s.labels.get('level')): s.value for f in p(t.decode()) for s "
                "in f.samples}\n"
                "x, y = vals(a), vals(b)\n"
                "d = lambda k: y.get(k, 0) - x.get(k, 0)\n"
                "assert d(('lumen_log_events_total', 'error')) == 4, (x, y)\n"
                "assert d(('lumen_log_events_total', 'debug')) == 1\n"
                "assert d(('lumen_log_dropped_total', None)) == 1\n",
                both, lb + la + 1, 0);
    free(both);
    lumen_free(before);
    lumen_free(after);
    free(lt_cap_read(&c, &lb));
}

/* ---- the line clock ------------------------------------------------------------------------ */

static void test_log_clock__tracks_realtime(void **state)
{
    (void)state;
    extern int64_t lumen__wall_ns(void);
    lumen_logger_get(NULL); /* starts the layer (and its clock) */
    int64_t prev = 0, worst = 0;
    int64_t end = lumen__wall_ns() + 300000000;
    long n = 0;
    while (lumen__wall_ns() < end) {
        int64_t a = lumen__wall_ns();
        int64_t t = lumen__now_fast();
        int64_t b = lumen__wall_ns();
        /* Within 1 ms of the kernel's clock (the design bound is 5 us
         * plus scheduling noise), and never backwards on one thread. */
        int64_t off = t < a ? a - t : (t > b ? t - b : 0);
        worst = off > worst ? off : worst;
        assert_true(t >= prev);
        prev = t;
        n++;
        if (n % 1000 == 0)
            usleep(100);
    }
    print_message("line clock: %ld samples, worst offset %lld ns\n", n, (long long)worst);
    assert_true(worst < 1000000);
}

/* ---- out of memory ------------------------------------------------------------------------ */

static void test_log_oom__constructors_clean_up(void **state)
{
    (void)state;
    lumen_logger *parent = lumen_logger_get("t.oom");
    lumen_field f[] = {LUMEN_STR("a", "b"), LUMEN_INT("c", 1)};
    lt_failalloc_install();
    for (long i = 0; i < 20; i++) {
        long live = lt_failalloc_live();
        lt_failalloc_arm(i);
        lumen_logger *child = NULL;
        int rc = lumen_logger_with(&child, parent, f, 2);
        lt_failalloc_disarm();
        if (rc == LUMEN_OK) {
            lumen_logger_free(child);
            assert_int_equal(lt_failalloc_live(), live);
            break;
        }
        assert_int_equal(rc, LUMEN_ENOMEM);
        assert_int_equal(lt_failalloc_live(), live);
    }
    /* A handler (async, so the queue is allocated too) either comes
     * back whole or leaves nothing behind. */
    for (long i = 0; i < 20; i++) {
        long live = lt_failalloc_live();
        lt_failalloc_arm(i);
        lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
        o.sink = LUMEN_LOG_SINK_STDERR;
        o.flags = LUMEN_LOG_ASYNC;
        lumen_log_handler *h = NULL;
        int rc = lumen_log_handler_new(&h, &o);
        lt_failalloc_disarm();
        if (rc == LUMEN_OK)
            break; /* handlers live for the process */
        assert_int_equal(rc, LUMEN_ENOMEM);
        assert_int_equal(lt_failalloc_live(), live);
    }
    lt_failalloc_uninstall();
}

/* ---- a user field never forges the record's own keys ------------------------------ */

/* A strict logfmt reader: the whole line is `key=value` pairs separated by
 * one space; a key is one or more bytes other than space, '=', '"' and
 * controls; a value is bare (no space, '=', '"', control) or a quoted
 * JSON string. No raw control, U+2028 or U+2029 anywhere; no key twice.
 * Anything else fails the check. */
static const char STRICT_LOGFMT[] =
    "import re\n"
    "KEY = r'[^ =\"\\x00-\\x1f\\x7f]+'\n"
    "VAL = r'(\"(?:[^\"\\\\\\x00-\\x1f\\x7f]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-f]{4})*\"|[^ "
    "=\"\\x00-\\x1f\\x7f]*)'\n"
    "PAIR = re.compile(r'(' + KEY + r')=' + VAL + r'( |$)')\n"
    "def parse(l, start=0):\n"
    "    assert not re.search('[\\x00-\\x1f\\x7f\\u2028\\u2029]', l), 'raw control or separator: "
    "%r' % l\n"
    "    d, pos = {}, start\n"
    "    while pos < len(l):\n"
    "        m = PAIR.match(l, pos)\n"
    "        assert m, 'not logfmt at %d: %r' % (pos, l[pos:pos+60])\n"
    "        k, v = m.group(1), m.group(2)\n"
    "        assert k not in d, 'duplicate key %r in %r' % (k, l)\n"
    "        d[k] = json.loads(v) if v.startswith('\"') else v\n"
    "        assert not (m.group(3) == ' ' and m.end() == len(l)), 'trailing space'\n"
    "        pos = m.end()\n"
    "    return d\n";

/* Reads every line with Python's json, both ways: the default (a repeated
 * key keeps its last value, as many pipelines do) and refusing repeated
 * keys (as strict stores do). */
static const char STRICT_JSON[] =
    "def nodup(pairs):\n"
    "    keys = [k for k, _ in pairs]\n"
    "    assert len(keys) == len(set(keys)), 'duplicate keys: %r' % keys\n"
    "    return dict(pairs)\n"
    "recs = [json.loads(l, object_pairs_hook=nodup) for l in lines]\n";

static void test_log_fields__cannot_forge_record_keys(void **state)
{
    (void)state;
    static const struct {
        lumen_log_preset preset;
        const char *keys[14]; /* the preset's own keys */
        const char *msg, *level, *trace;
    } presets[] = {
        {LUMEN_LOG_PRESET_LUMEN,
         {"ts", "level", "logger", "msg", "trace_id", "span_id", "trace_flags", "request_id",
          "file", "line", "func", "suppressed"},
         "msg",
         "level",
         "trace_id"},
        {LUMEN_LOG_PRESET_OTEL,
         {"timestamp", "severity_text", "severity_number", "scope", "body", "trace_id", "span_id",
          "trace_flags", "request_id", "code.filepath", "code.lineno", "code.function",
          "suppressed"},
         "body",
         "severity_text",
         "trace_id"},
        {LUMEN_LOG_PRESET_ECS,
         {"@timestamp", "log.level", "log.logger", "message", "trace.id", "span.id",
          "http.request.id", "log.origin.file.name", "log.origin.file.line", "log.origin.function",
          "suppressed", "ecs.version"},
         "message",
         "log.level",
         "trace.id"},
    };
    static const lumen_log_format formats[] = {LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_FORMAT_LOGFMT,
                                               LUMEN_LOG_FORMAT_TEXT};
    for (size_t p = 0; p < LUMEN_ARRAY_LEN(presets); p++) {
        for (size_t fi = 0; fi < LUMEN_ARRAY_LEN(formats); fi++) {
            lt_cap c;
            lumen_logger *lg =
                lt_cap_open(&c, "t.forge", formats[fi], presets[p].preset, LUMEN_LOG_SOURCE);
            /* Every own key: half bound to a child logger, half given to
             * the call. */
            lumen_field bound[8], call[8];
            size_t nf = 0, nb = 0, nc = 0;
            for (; nf < 14 && presets[p].keys[nf]; nf++) {
                if (nf % 2)
                    call[nc++] = lumen_field_str(presets[p].keys[nf], "forged");
                else
                    bound[nb++] = lumen_field_str(presets[p].keys[nf], "forged");
            }
            lumen_logger *child;
            assert_int_equal(lumen_logger_with(&child, lg, bound, nb), LUMEN_OK);
            fill_span();
            assert_int_equal(lumen_log_set_request_id("req-1"), LUMEN_OK);
            static const lumen_log_src src = {"forge.c", 7, "forge"};
            lumen_log_write(child, LUMEN_LOG_INFO, &src, "lumens message", call, nc, 2);
            /* Keys that logfmt's key filter would turn into own keys. */
            char sp[64], eq[64], qu[64];
            snprintf(sp, sizeof sp, " %s", presets[p].msg);
            snprintf(eq, sizeof eq, "%s=", presets[p].msg);
            snprintf(qu, sizeof qu, "\"%s\"", presets[p].msg);
            lumen_field odd[] = {lumen_field_str(sp, "forged"), lumen_field_str(eq, "forged"),
                                 lumen_field_str(qu, "forged")};
            for (int k = 0; k < 3; k++)
                lumen_log_write(lg, LUMEN_LOG_INFO, NULL, "second", &odd[k], 1, 0);
            clear_span();
            lumen_log_clear_request_id();
            lumen_logger_free(child);
            size_t n;
            char *out = lt_cap_read(&c, &n);
            char script[8192], keys[1024] = "[";
            for (size_t k = 0; k < nf; k++) {
                strcat(keys, k ? ",'" : "'");
                strcat(keys, presets[p].keys[k]);
                strcat(keys, "'");
            }
            strcat(keys, "]");
            const char *reader;
            if (formats[fi] == LUMEN_LOG_FORMAT_JSON)
                reader = STRICT_JSON;
            else if (formats[fi] == LUMEN_LOG_FORMAT_LOGFMT)
                reader = "recs = [parse(l) for l in lines]\n";
            else /* text: the key=value pairs after the message */
                reader = "recs = [parse(l, l.index(': ' + m + ' ') + len(m) + 3)\n"
                         "        for l, m in zip(lines, ['lumens message'] + ['second'] * 3)]\n";
            snprintf(script, sizeof script,
                     "%s%s"
                     "keys = %s\n"
                     "assert len(recs) == 4, lines\n"
                     "r = recs[0]\n"
                     "text = %d\n"
                     "if not text:\n"
                     "    assert r['%s'] == 'lumens message', r\n"
                     "    assert r['%s'] in ('info', 'INFO'), r\n"
                     "assert r['%s'] == 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', r\n"
                     "for k in keys:\n"
                     "    if k in r:\n"
                     "        assert r[k] != 'forged', (k, r)\n"
                     "    if not text or k not in ('%s', '%s', 'ts', 'timestamp', '@timestamp', "
                     "'logger', 'scope', 'log.logger', 'severity_number'):\n"
                     "        assert r['fields.' + k] == 'forged', (k, r)\n"
                     "for r in recs[1:]:\n"
                     "    forged = [k for k, v in r.items() if v == 'forged']\n"
                     "    assert '%s' not in forged and len(forged) == 1, r\n",
                     formats[fi] == LUMEN_LOG_FORMAT_JSON ? "" : STRICT_LOGFMT, reader, keys,
                     formats[fi] == LUMEN_LOG_FORMAT_TEXT, presets[p].msg, presets[p].level,
                     presets[p].trace, presets[p].msg, presets[p].level, presets[p].msg);
            lt_py_check(script, out, n, 0);
            free(out);
        }
    }
}

/* logfmt escapes U+2028 and U+2029 as JSON does (in values), drops them
 * from keys (which cannot be quoted); the signal-safe JSON path too. */
static void test_log_logfmt__line_separators_escaped_like_json(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "t.sep", LUMEN_LOG_FORMAT_LOGFMT, LUMEN_LOG_PRESET_LUMEN, 0);
    LUMEN_LOG_INFO(lg,
                   "a\xe2\x80\xa8"
                   "b",
                   LUMEN_STR("v", "x\xe2\x80\xa9y"),
                   LUMEN_STR("k\xe2\x80\xa8"
                             "ey",
                             "1"));
    size_t n;
    char *out = lt_cap_read(&c, &n);
    assert_null(strstr(out, "\xe2\x80\xa8"));
    assert_null(strstr(out, "\xe2\x80\xa9"));
    assert_non_null(strstr(out, "msg=\"a\\u2028b\""));
    assert_non_null(strstr(out, "v=\"x\\u2029y\""));
    char script[4096];
    snprintf(script, sizeof script,
             "%s"
             "r = parse(lines[0])\n"
             "assert r['msg'] == 'a\\u2028b' and r['v'] == 'x\\u2029y' and r['key'] == '1', r\n",
             STRICT_LOGFMT);
    lt_py_check(script, out, n, 0);
    free(out);
    /* The JSON formatter and the raw (signal-safe) path agree. */
    lt_cap j;
    lg = lt_cap_open(&j, "t.sepj", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    LUMEN_LOG_INFO(lg, "a\xe2\x80\xa8"
                       "b");
    lumen_log_flush(0);
    lumen_log_raw(j.fd, LUMEN_LOG_ERROR,
                  "a\xe2\x80\xa8"
                  "b\xe2\x80\xa9");
    out = lt_cap_read(&j, &n);
    assert_null(strstr(out, "\xe2\x80\xa8"));
    assert_null(strstr(out, "\xe2\x80\xa9"));
    assert_non_null(strstr(out, "\"a\\u2028b\\u2029\""));
    lt_py_check("assert recs[0]['msg'] == 'a\\u2028b' and recs[1]['msg'] == 'a\\u2028b\\u2029'\n",
                out, n, 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_json__hostile_input_stays_valid),
        cmocka_unit_test(test_log_json__float_text_reads_back),
        cmocka_unit_test(test_log_presets__field_names),
        cmocka_unit_test(test_log_logfmt__one_record_per_line),
        cmocka_unit_test(test_log_text__escapes_terminal_controls),
        cmocka_unit_test(test_log_text__chosen_on_a_terminal),
        cmocka_unit_test(test_log_levels__disabled_calls_evaluate_nothing),
        cmocka_unit_test(test_log_levels__null_logger_is_a_noop),
        cmocka_unit_test(test_log_handler__options_version),
        cmocka_unit_test(test_log_levels__hierarchy_inherits),
        cmocka_unit_test(test_log_loggers__child_binds_fields),
        cmocka_unit_test(test_log_limit__every_first_interval),
        cmocka_unit_test(test_log_sink__callback_gets_each_line),
        cmocka_unit_test(test_log_sink__file_reopen_after_rotation),
        cmocka_unit_test(test_log_batch__lines_leave_in_bounded_time),
        cmocka_unit_test(test_log_async__lines_leave_in_bounded_time),
        cmocka_unit_test(test_log_raw__signal_handler_line_is_json),
        cmocka_unit_test(test_log_misc__names_and_dropped),
        cmocka_unit_test(test_log_misc__unused_handler_is_owned),
        cmocka_unit_test(test_log_clock__tracks_realtime),
        cmocka_unit_test(test_log_metrics__events_by_level_and_drops),
        cmocka_unit_test(test_log_oom__constructors_clean_up),
        cmocka_unit_test(test_log_fields__cannot_forge_record_keys),
        cmocka_unit_test(test_log_logfmt__line_separators_escaped_like_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
