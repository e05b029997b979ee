/* tests/sqlite/test_sqlite.c: liblumen-sqlite. The literal stripper on
 * hand-picked cases (quotes inside strings, '' escapes, blobs, numbers
 * such as 1e-5, identifiers that look like numbers, comments) and on
 * generated statements whose every literal and comment carries a marker
 * that must never come out; then the adapter on a real SQLite database:
 * CLIENT spans with the database conventions' attributes (read back from
 * the OTLP/JSON encoding by Python's json) and the duration histogram
 * (parsed by Python's prometheus_client). */
#include "../log/log_test.h"

#include <sqlite3.h>

#include "lumen/otlp.h"
#include "lumen/sqlite.h"
#include "lumen/trace.h"
#include "sqlite/strip.h"

#define LT_STR_(x) #x
#define LT_STR(x) LT_STR_(x)

static void expect_strip(const char *in, unsigned flags, const char *want)
{
    char out[512];
    size_t n = lumen__sql_strip(out, sizeof out, in, strlen(in), flags, NULL);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "strip(%s)\n  got  %s\n  want %s\n", in, out, want);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_sqlite__strip_cases(void **state)
{
    (void)state;
    expect_strip("SELECT * FROM t WHERE name = 'bob'", 0, "SELECT * FROM t WHERE name = ?");
    expect_strip("INSERT INTO t VALUES('it''s', 'a \"q\" -- no', 42)", 0,
                 "INSERT INTO t VALUES(?, ?, ?)");
    expect_strip("SELECT x'DEADBEEF', X'00', x FROM t", 0, "SELECT ?, ?, x FROM t");
    expect_strip("SELECT 1e-5, 1.5E+10, .5, 3., 0x1F, 12abc", 0, "SELECT ?, ?, ?, ?, ?, ?");
    expect_strip("SELECT t1.col2e5, a$b, _9 FROM t1 JOIN t2e3", 0,
                 "SELECT t1.col2e5, a$b, _9 FROM t1 JOIN t2e3");
    expect_strip("SELECT -5, a-1 FROM t", 0, "SELECT -?, a-? FROM t");
    expect_strip("SELECT a -- secret 1\nFROM t /* secret 'x' */ WHERE b=?1", 0,
                 "SELECT a  FROM t   WHERE b=?1");
    expect_strip("SELECT :name, @p, $v, ?, ?12 FROM t", 0, "SELECT :name, @p, $v, ?, ?12 FROM t");
    expect_strip("SELECT [weird col], `x y`, \"Name\" FROM t", 0,
                 "SELECT [weird col], `x y`, \"Name\" FROM t");
    expect_strip("SELECT \"Name\" FROM t WHERE a = \"bob\"", LUMEN__SQL_DQ_STRINGS,
                 "SELECT ? FROM t WHERE a = ?");
    /* Unterminated: the rest is data. */
    expect_strip("SELECT 'abc", 0, "SELECT ?");
    expect_strip("SELECT 1 /* abc", 0, "SELECT ?  ");
    expect_strip("SELECT x'AB", 0, "SELECT ?");
    expect_strip("SELECT\n\t1", 0, "SELECT ?");
    /* An unterminated quoted identifier would swallow the literals after
     * it (found by fuzz/sql_strip_fuzz.c); one with a control character
     * is not kept either. */
    expect_strip("SELECT `abc FROM t WHERE a = 'secret'", 0, "SELECT ?");
    expect_strip("SELECT [abc FROM t WHERE a = 'secret'", 0, "SELECT ?");
    expect_strip("SELECT \"abc FROM t WHERE a = 'secret'", 0, "SELECT ?");
    expect_strip("SELECT `a``b` FROM t", 0, "SELECT `a``b` FROM t");
    expect_strip("SELECT [a\x01b] FROM t", 0, "SELECT ? FROM t");

    /* Cut between tokens, never inside one. */
    char small[12];
    bool cut = false;
    const char *in = "SELECT abcdefgh FROM t";
    size_t n = lumen__sql_strip(small, sizeof small, in, strlen(in), 0, &cut);
    assert_true(cut);
    assert_string_equal(small, "SELECT ");
    assert_int_equal(n, 7);

    char op[16];
    lumen__sql_operation(op, "  /* c */ (select 1)", 20);
    assert_string_equal(op, "SELECT");
    lumen__sql_operation(op, "-- x\ninsert into t", 18);
    assert_string_equal(op, "INSERT");
    lumen__sql_operation(op, "frobnicate", 10);
    assert_string_equal(op, "");
    lumen__sql_operation(op, "SELECTED", 8);
    assert_string_equal(op, "");
}

/* ---- the property: no byte of a marked literal or comment comes out ---- */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Append one token; literals and comments carry the marker "ZQ" (strings,
 * blobs as hex 5A51, comments) or the digits 7779 (numbers). Identifiers
 * never contain either. */
static void add_token(char *s, size_t *o, size_t cap, bool dq)
{
    static const char *const idents[] = {"t1",  "col2e5", "a$b", "_9",     "x",    "e5",
                                         "x1f", "[a b]",  "`c`", "SELECT", "FROM", "WHERE"};
    static const char *const ops[] = {"(", ")", ",", "=", "-", "+", ".", "*", ";", "||", "<>"};
    static const char *const params[] = {"?", "?3", ":p", "@q", "$r"};
    char t[96];
    switch (rnd(12)) {
    case 0:
        snprintf(t, sizeof t, "'ZQ%s'", rnd(2) ? "''ZQ" : " \"ZQ\" -- ");
        break;
    case 1:
        snprintf(t, sizeof t, "%s'5A51%s'", rnd(2) ? "x" : "X", rnd(2) ? "5A" : "");
        break;
    case 2: {
        static const char *const nums[] = {"7779",    "7779.5", ".7779", "7779e-5",
                                           "7779E+7", "0x7779", "7779.", "1e7779"};
        snprintf(t, sizeof t, "%s", nums[rnd(8)]);
        break;
    }
    case 3:
        snprintf(t, sizeof t, "-- ZQ 7779 'x\n");
        break;
    case 4:
        snprintf(t, sizeof t, "/* ZQ 7779 */");
        break;
    case 5:
        snprintf(t, sizeof t, dq ? "\"ZQ 7779\"" : "\"ident\"");
        break;
    case 6:
    case 7:
        snprintf(t, sizeof t, "%s", idents[rnd(12)]);
        break;
    case 8:
        snprintf(t, sizeof t, "%s", params[rnd(5)]);
        break;
    default:
        snprintf(t, sizeof t, "%s", ops[rnd(11)]);
        break;
    }
    size_t l = strlen(t);
    /* Separate words that would otherwise merge into one token. */
    if (*o + l + 2 < cap) {
        s[(*o)++] = rnd(3) ? ' ' : '\n';
        memcpy(s + *o, t, l);
        *o += l;
        s[*o] = '\0';
    }
}

static void test_sqlite__strip_property(void **state)
{
    (void)state;
    char sql[2048], out[2048];
    for (int round = 0; round < 20000; round++) {
        bool dq = rnd(2);
        size_t o = 0;
        sql[0] = '\0';
        int k = 1 + (int)rnd(40);
        for (int j = 0; j < k; j++)
            add_token(sql, &o, sizeof sql, dq);
        /* Now and then a literal left open at the end. */
        if (rnd(10) == 0 && o + 8 < sizeof sql) {
            memcpy(sql + o, rnd(2) ? " 'ZQ" : " /*ZQ", 5);
            o += 5;
            sql[o] = '\0';
        }
        size_t n = lumen__sql_strip(out, sizeof out, sql, o, dq ? LUMEN__SQL_DQ_STRINGS : 0, NULL);
        assert_true(n <= o + 1);
        if (strstr(out, "ZQ") || strstr(out, "5A51") || strstr(out, "7779")) {
            fprintf(stderr, "leaked:\n  in  %s\n  out %s\n", sql, out);
            fail();
        }
    }
}

/* ---- the adapter on a real database ---- */

static char *encoded; /* every exported span, one OTLP/JSON request per line */
static size_t encoded_len;

static int export_json(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    (void)ud;
    (void)deadline_ns;
    char *body;
    size_t len;
    int rc = lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_JSON, spans, n);
    if (rc != LUMEN_OK)
        return rc;
    encoded = realloc(encoded, encoded_len + len + 1);
    memcpy(encoded + encoded_len, body, len);
    encoded_len += len;
    encoded[encoded_len++] = '\n';
    lumen_free(body);
    return LUMEN_OK;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static void test_sqlite__spans_and_histogram(void **state)
{
    (void)state;
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = export_json;
    lumen_span_exporter *exp;
    assert_int_equal(lumen_span_exporter_new(&exp, &ops, NULL), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, exp, NULL), LUMEN_OK);
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "test", NULL);
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);

    char *dir = lt_tempdir();
    char path[600];
    snprintf(path, sizeof path, "%s/app.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(lumen_sqlite_instrument(NULL, tr, reg), LUMEN_EINVAL);
    assert_int_equal(lumen_sqlite_uninstrument(db), LUMEN_ENOENT);
    assert_int_equal(lumen_sqlite_instrument(db, tr, reg), LUMEN_OK);

    /* A parent span current on the thread: the statements are its children. */
    lumen_span *parent = lumen_span_start(tr, "handler", NULL);
    lumen_span_enter(parent);
    exec_ok(db, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, score REAL, pic BLOB)");
    exec_ok(db, "INSERT INTO users VALUES(1, 'alice SECRET', 1e-5, x'DEADBEEF')");
    exec_ok(db, "INSERT INTO users VALUES(2, 'o''brien SECRET', 31337, NULL) -- SECRET note");
    /* Bound parameters never appear: the text is sqlite3_sql's, with ?. */
    sqlite3_stmt *st;
    const char *q = "SELECT name FROM users WHERE name = ? AND score < 99";
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, "bound SECRET", -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    /* Longer than LUMEN_SQLITE_QUERY_TEXT_MAX once stripped: cut. */
    char *lng = malloc(8 * 2000 + 64);
    size_t lo = (size_t)sprintf(lng, "SELECT 1");
    for (int i = 0; i < 1500; i++)
        lo += (size_t)sprintf(lng + lo, ", 123456");
    sprintf(lng + lo, " FROM users");
    exec_ok(db, lng);
    free(lng);
    lumen_span_leave(parent);
    lumen_span_end(parent);

    char *metrics = NULL;
    size_t mlen = 0;
    assert_int_equal(lumen_registry_render_string(&metrics, &mlen, reg, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK); /* frees the instrumentation */

    assert_non_null(encoded);
    lt_py_check(
        "spans = []\n"
        "for l in lines:\n"
        "    d = json.loads(l)\n"
        "    for rs in d['resourceSpans']:\n"
        "        for ss in rs['scopeSpans']:\n"
        "            spans += ss['spans']\n"
        "assert 'SECRET' not in text and '31337' not in text and 'DEADBEEF' not in text, text\n"
        "parent = [s for s in spans if s['name'] == 'handler'][0]\n"
        "db = [s for s in spans if s['name'] != 'handler']\n"
        "assert len(db) == 5, [s['name'] for s in db]\n"
        "def attrs(s):\n"
        "    return {a['key']: a['value'].get('stringValue') for a in s['attributes']}\n"
        "long = attrs(db.pop())['db.query.text']\n"
        "assert long.startswith('SELECT ?, ?, ?') and long.rstrip().endswith(','), long[-20:]\n"
        "assert 4000 < len(long) < " LT_STR(
            LUMEN_SQLITE_QUERY_TEXT_MAX) ", len(long)\n"
                                         "want = [('CREATE', 'CREATE TABLE users(id INTEGER "
                                         "PRIMARY KEY, name TEXT, score REAL, "
                                         "pic BLOB)'),\n"
                                         "        ('INSERT', 'INSERT INTO users VALUES(?, ?, ?, "
                                         "?)'),\n"
                                         "        ('INSERT', 'INSERT INTO users VALUES(?, ?, ?, "
                                         "NULL)  '),\n"
                                         "        ('SELECT', 'SELECT name FROM users WHERE name = "
                                         "? AND score < ?')]\n"
                                         "for s, (op, text_) in zip(db, want):\n"
                                         "    a = attrs(s)\n"
                                         "    assert s['kind'] == 3, s\n"
                                         "    assert s['name'] == op + ' app.db', s['name']\n"
                                         "    assert s['parentSpanId'] == parent['spanId'], s\n"
                                         "    assert s['traceId'] == parent['traceId'], s\n"
                                         "    assert a['db.system.name'] == 'sqlite' and "
                                         "a['db.system'] == 'sqlite', a\n"
                                         "    assert a['db.namespace'] == 'app.db', a\n"
                                         "    assert a['db.operation.name'] == op, a\n"
                                         "    assert a['db.query.text'] == text_, "
                                         "(a['db.query.text'], text_)\n"
                                         "    assert int(s['endTimeUnixNano']) >= "
                                         "int(s['startTimeUnixNano']), s\n",
        encoded, encoded_len, 0);

    lt_py_check("from prometheus_client.parser import text_string_to_metric_families\n"
                "fams = {f.name: f for f in text_string_to_metric_families(text)}\n"
                "f = fams['db_client_operation_duration_seconds']\n"
                "assert f.type == 'histogram', f.type\n"
                "buckets = {}\n"
                "counts = {}\n"
                "sums = {}\n"
                "for s in f.samples:\n"
                "    assert s.labels['db_system_name'] == 'sqlite', s\n"
                "    assert s.labels['db_namespace'] == 'app.db', s\n"
                "    op = s.labels['db_operation_name']\n"
                "    if s.name.endswith('_bucket'):\n"
                "        buckets.setdefault(op, []).append(s.labels['le'])\n"
                "    elif s.name.endswith('_count'):\n"
                "        counts[op] = s.value\n"
                "    elif s.name.endswith('_sum'):\n"
                "        sums[op] = s.value\n"
                "assert counts == {'CREATE': 1, 'INSERT': 2, 'SELECT': 2}, counts\n"
                "# Timed by the adapter in ns, not SQLite's whole milliseconds.\n"
                "for op, v in sums.items():\n"
                "    assert v > 0 and abs(v * 1000 - round(v * 1000)) > 1e-9, sums\n"
                "want = ['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1.0', '5.0', '10.0',"
                " '+Inf']\n"
                "for op, b in buckets.items():\n"
                "    assert [str(float(x)) if x != '+Inf' else x for x in b] == want, b\n",
                metrics, mlen, 0);
    lumen_free(metrics);
    free(encoded);
    encoded = NULL;
    encoded_len = 0;

    /* Instrumenting again replaces the tracer: the statements go to the
     * second provider only. */
    lumen_tracer_provider *tp2;
    assert_int_equal(lumen_tracer_provider_new(&tp2, NULL), LUMEN_OK);
    lumen_tracer *tr2 = lumen_tracer_provider_get_tracer(tp2, "other", NULL);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(lumen_sqlite_instrument(db, tr, reg), LUMEN_OK);
    assert_int_equal(lumen_sqlite_instrument(db, tr2, reg), LUMEN_OK);
    exec_ok(db, "SELECT 1");
    assert_null(encoded);
    assert_int_equal(lumen_sqlite_instrument(db, tr, reg), LUMEN_OK);
    exec_ok(db, "SELECT 1");
    assert_non_null(encoded);
    free(encoded);
    encoded = NULL;
    encoded_len = 0;
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    lumen_tracer_provider_free(tp2);

    /* A registry whose family of that name is not the histogram. */
    lumen_registry *other;
    assert_int_equal(lumen_registry_new(&other), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, other, "db_client_operation_duration_seconds", "not it"),
                     LUMEN_OK);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(lumen_sqlite_instrument(db, tr, other), LUMEN_EEXIST);
    assert_int_equal(lumen_sqlite_uninstrument(db), LUMEN_ENOENT);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    lumen_registry_free(other);

    /* Uninstrument: no more spans. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(lumen_sqlite_instrument(db, tr, reg), LUMEN_OK);
    assert_int_equal(lumen_sqlite_uninstrument(db), LUMEN_OK);
    exec_ok(db, "SELECT 1");
    assert_null(encoded);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    lumen_registry_free(reg);
    lumen_tracer_provider_free(tp);
    unlink(path);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite__strip_cases),
        cmocka_unit_test(test_sqlite__strip_property),
        cmocka_unit_test(test_sqlite__spans_and_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
