/*
 * lumen/limits.h: every fixed limit and every default of liblumen, by name.
 * The doc of each function a limit bounds cites it, and the table at the
 * end of docs/architecture.md lists them. liblumen-http's own limits and
 * defaults are in lumen/http.h. Included by lumen/common.h.
 */
#ifndef LUMEN_LIMITS_H
#define LUMEN_LIMITS_H

/* ---- metrics ------------------------------------------------------------- */

/** Bytes of a metric family name, without the suffixes the exposition adds
 * (`_total`, `_bucket`, `_created`, ...). */
#define LUMEN_METRIC_NAME_MAX 200
/** Label names and constant labels of one family, together. */
#define LUMEN_METRIC_MAX_LABELS 64
/** Bucket bounds of one histogram (+Inf implied, not counted). */
#define LUMEN_HISTOGRAM_MAX_BUCKETS 1000
/** Series of one family before new label sets go to its overflow series. */
#define LUMEN_DEFAULT_SERIES_LIMIT 10000
/** UTF-8 characters of an exemplar's label names and values together
 * (OpenMetrics' limit); a longer set is dropped. */
#define LUMEN_EXEMPLAR_MAX_RUNES 128
/** Registries one lumen_registries_render call takes. */
#define LUMEN_RENDER_MAX_REGISTRIES 64
/** A summary's sliding window, when its options give none. */
#define LUMEN_SUMMARY_DEFAULT_MAX_AGE_MS 600000
/** Sub-windows of a summary's window, when its options give none. */
#define LUMEN_SUMMARY_DEFAULT_AGE_BUCKETS 5
/** Exponential buckets per sign in each sub-window of a summary's window
 * (8 bytes each): values spanning a factor of up to 2^23.98 (7.2 orders of
 * magnitude) keep scale 6 or finer, a relative error under 0.55 %. */
#define LUMEN_SUMMARY_BUCKETS 1536

/* ---- pre-forked families (lumen/prefork.h) ------------------------------- */

/** lumen_prefork_options.max_workers when 0, and its largest value. */
#define LUMEN_PREFORK_DEFAULT_MAX_WORKERS 64
#define LUMEN_PREFORK_MAX_WORKERS 65536
/** lumen_prefork_options.max_families when 0, and its largest value. */
#define LUMEN_PREFORK_DEFAULT_MAX_FAMILIES 1024
#define LUMEN_PREFORK_MAX_FAMILIES 1048576
/** lumen_prefork_options.max_series when 0, and its largest value. */
#define LUMEN_PREFORK_DEFAULT_MAX_SERIES 65536
#define LUMEN_PREFORK_MAX_SERIES 67108864
/** lumen_prefork_options.max_cells when 0 (this many per series of
 * max_series), and its largest value (after rounding up to whole pages). */
#define LUMEN_PREFORK_DEFAULT_CELLS_PER_SERIES 16
#define LUMEN_PREFORK_MAX_CELLS 16777216
/** lumen_prefork_options.max_label_bytes when 0: this many per series of
 * max_series. */
#define LUMEN_PREFORK_DEFAULT_LABEL_BYTES_PER_SERIES 64

/* ---- logs ---------------------------------------------------------------- */

/** Bytes of a logger name. */
#define LUMEN_LOG_NAME_MAX 255
/** Fields one LUMEN_LOG* macro call takes. */
#define LUMEN_LOG_MAX_FIELDS 31
/** Bytes of a request id (lumen_log_set_request_id). */
#define LUMEN_LOG_REQUEST_ID_MAX 64
/** Bytes of the source file and of the function name written per line
 * (LUMEN_LOG_SOURCE); longer ones are cut with a marker. */
#define LUMEN_LOG_SOURCE_MAX 4096
/** Bytes of a lumen_log_raw message; longer ones are cut. */
#define LUMEN_LOG_RAW_MAX 1024
/** A handler's longest string value, when its options give none. */
#define LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES (1024 * 1024)
/** An asynchronous handler's queue, when its options give none. */
#define LUMEN_LOG_DEFAULT_QUEUE_BYTES (1024 * 1024)
/** How long a batched line waits at most, when a handler's options give
 * no interval. */
#define LUMEN_LOG_DEFAULT_FLUSH_INTERVAL_MS 100
/** An asynchronous BLOCK handler's longest wait for room, when its options
 * give none. */
#define LUMEN_LOG_DEFAULT_BLOCK_TIMEOUT_MS 1000
/** The crash handler's longest wait for the asynchronous log queues, when
 * its options give none (lumen/crash.h). */
#define LUMEN_CRASH_DEFAULT_FLUSH_TIMEOUT_MS 1000
/** Frames of a crash line's backtrace; deeper ones are not written. */
#define LUMEN_CRASH_FRAMES_MAX 64

/** The log record batch processor (lumen_log_batch_handler_new) when
 * neither its options nor OTEL_BLRP_* give a value: queue size in records,
 * records per export, and export interval (the specification's defaults;
 * the export timeout is LUMEN_DEFAULT_EXPORT_TIMEOUT_MS). */
#define LUMEN_LOG_BATCH_DEFAULT_MAX_QUEUE_SIZE 2048
#define LUMEN_LOG_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE 512
#define LUMEN_LOG_BATCH_DEFAULT_SCHEDULE_DELAY_MS 1000

/* ---- shutdown and export budgets ----------------------------------------- */

/** The budget of a flush or shutdown given no timeout (lumen_log_flush,
 * lumen_log_shutdown, a processor's or provider's free and shutdown). */
#define LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS 5000
/** The budget of one export, when the processor's options and
 * OTEL_BSP_EXPORT_TIMEOUT give none. */
#define LUMEN_DEFAULT_EXPORT_TIMEOUT_MS 30000

/* ---- traces -------------------------------------------------------------- */

/** The batch processor's queue, when neither its options nor
 * OTEL_BSP_MAX_QUEUE_SIZE give one. */
#define LUMEN_BATCH_DEFAULT_MAX_QUEUE_SIZE 2048
/** Spans per export, when neither the options nor
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE give one. */
#define LUMEN_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE 512
/** The batch processor's export interval, when neither the options nor
 * OTEL_BSP_SCHEDULE_DELAY give one. */
#define LUMEN_BATCH_DEFAULT_SCHEDULE_DELAY_MS 5000
/** A span's attributes, events, links, and attributes per event and per
 * link, when neither the provider's options nor OTEL_* give a limit. */
#define LUMEN_SPAN_DEFAULT_ATTRIBUTE_COUNT_LIMIT 128
#define LUMEN_SPAN_DEFAULT_EVENT_COUNT_LIMIT 128
#define LUMEN_SPAN_DEFAULT_LINK_COUNT_LIMIT 128
#define LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_EVENT_LIMIT 128
#define LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_LINK_LIMIT 128
/** Processors one tracer provider takes. */
#define LUMEN_TRACER_PROVIDER_MAX_PROCESSORS 8
/** The longest tracestate lumen keeps and sends (the W3C minimum a vendor
 * must propagate). Longer incoming lists are cut by whole members. */
#define LUMEN_TRACESTATE_MAX 512
/** Bytes of a formatted version-00 traceparent with its NUL. */
#define LUMEN_TRACEPARENT_SIZE 56
/** Baggage members lumen keeps and sends (the grammar's most; the W3C
 * floor is 64). */
#define LUMEN_BAGGAGE_MAX_MEMBERS 180
/** Bytes of the baggage header lumen keeps and sends (the W3C floor). */
#define LUMEN_BAGGAGE_MAX_BYTES 8192

/* ---- server instrumentation (lumen/instrument.h) -------------------------- */

/** Bytes of a request's path its access line keeps (longer ones are cut;
 * the span's url.path has the span's own value limit). */
#define LUMEN_SERVER_REQUEST_PATH_MAX 256
/** Bytes of a request span's name ("METHOD route"); a longer route is cut
 * in the name, kept whole in http.route. */
#define LUMEN_SERVER_SPAN_NAME_MAX 256

#endif /* LUMEN_LIMITS_H */
