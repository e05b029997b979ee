/*
 * bench/http/bench_scrape_http_promcpp.cc: scrape_10k_series_http for
 * prometheus-cpp 1.0's Exposer (civetweb, its default two threads), the
 * same series and the same wrk run as bench_scrape_http.c.
 */
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "wrk_run.h"

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    auto registry = std::make_shared<prometheus::Registry>();
    std::vector<prometheus::Counter *> series;
    for (int f = 0; f < 100; f++) {
        auto &fam = prometheus::BuildCounter()
                        .Name("bench_requests_" + std::to_string(f) + "_total")
                        .Help("Requests handled, by path and code.")
                        .Register(*registry);
        for (int s = 0; s < 100; s++)
            series.push_back(
                &fam.Add({{"path", "/api/v1/item/" + std::to_string(s)}, {"code", "200"}}));
    }
    prometheus::Exposer exposer("127.0.0.1:0");
    exposer.RegisterCollectable(registry);
    std::string url =
        "http://127.0.0.1:" + std::to_string(exposer.GetListeningPorts().at(0)) + "/metrics";

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; i++)
        threads.emplace_back([&, i] {
            size_t k = (size_t)i * 7919;
            while (!stop.load(std::memory_order_relaxed))
                for (int j = 0; j < 1000; j++)
                    series[k++ % series.size()]->Increment();
        });
    bench_wrk(url.c_str(), 1);
    double rps = bench_wrk(url.c_str(), seconds);
    stop = true;
    for (auto &t : threads)
        t.join();
    if (rps < 0) {
        std::fprintf(stderr, "# wrk failed\n");
        return 1;
    }
    std::printf("prometheus-cpp scrape_10k_series_http %.0f req/s\n", rps);
    return 0;
}
