// bench/metrics/bench_metrics_golang.go: the metrics workloads of
// bench-spec.md for client_golang (Debian golang-github-prometheus-client-
// golang-dev, built in GOPATH mode over /usr/share/gocode by
// bench/metrics/CMakeLists.txt), measured as bench_metrics_lumen.c
// measures lumen; see that file for the workloads and their units.
// Prints "client_golang <workload> <value> <unit>".
//
// Threads: a worker of an N-thread workload is a goroutine locked to its
// own OS thread (runtime.LockOSThread) and GOMAXPROCS is max(N, CPUs)
// while it runs, so that N OS threads are runnable at once and the kernel
// schedules them, as it schedules the N pthreads of the C programs.
//
// Renders: Registry.Gather, then expfmt.MetricFamilyToText for every
// family into one buffer (the text format 0.0.4, as promhttp serves it).
//
// Memory: resident memory after runtime.GC and debug.FreeOSMemory, before
// and after, so that the figure holds the live series and not garbage the
// collector has not yet returned (the most favourable reading for Go).
// Each memory workload runs in a fresh process: the program runs itself
// with the workload's name.
//
// thread_churn is left out: a goroutine is not a thread, and client_golang
// keeps no per-thread state whose creation or exit could cost anything.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

const lib = "client_golang"

// Trials, as in bench_common.h: every timed workload runs `trials` short
// trials after a warm-up and prints the minimum per-op time (the spec's
// line), the trials ("# trials ...", for bench/run.sh) and their median.
const trials = 30
const shortTrialS = 0.02 // one single-thread trial, times LUMEN_BENCH_SCALE
const warmupS = 0.05
const trialS = 0.05 // one trial of a thread-count workload, times LUMEN_BENCH_SCALE

var threadCounts = []int{1, 2, 8, 32, 128, 256}
var renderThreads = []int{1, 8, 32, 128, 256}
var bounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
var methods = []string{"GET", "POST", "PUT", "DELETE"}
var codes = []string{"200", "404", "500", "503"}

func scale() float64 {
	if k, err := strconv.ParseFloat(os.Getenv("LUMEN_BENCH_SCALE"), 64); err == nil && k > 0 {
		return k
	}
	return 1
}

func benchN(n int64) int64 {
	if v := int64(float64(n) * scale()); v > 0 {
		return v
	}
	return 1
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minimum(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		if x < m {
			m = x
		}
	}
	return m
}

// report prints the minimum of the trials in the spec's form, the trials
// and a comment with their median, as bench_report does.
func report(name, unit string, v []float64) {
	fmt.Printf("%s %s %.2f %s\n", lib, name, minimum(v), unit)
	fmt.Printf("# trials %s %s %s", lib, name, unit)
	for _, x := range v {
		fmt.Printf(" %.4g", x)
	}
	fmt.Printf("\n# %s %s: min %.2f, median %.2f %s of %d trials\n", lib, name, minimum(v), median(v),
		unit, len(v))
}

// single runs fn(k) (k operations) for a warm-up of about warmupS that
// also sizes the trials, then `trials` trials of about shortTrialS; it
// returns their per-op times and every operation done, warm-up included.
func single(fn func(k int64)) ([]float64, float64) {
	target, warm := shortTrialS*scale(), warmupS*scale()
	done, perOp := 0.0, 0.0
	w0 := time.Now()
	k := int64(1000)
	for {
		t0 := time.Now()
		fn(k)
		t := time.Since(t0).Seconds()
		done += float64(k)
		if t >= target/4 {
			if p := t / float64(k); perOp == 0 || p < perOp {
				perOp = p
			}
			if time.Since(w0).Seconds() >= warm {
				break
			}
		} else {
			k *= 4
		}
	}
	if k = int64(target / perOp); k < 1 {
		k = 1
	}
	ns := make([]float64, trials)
	for i := range ns {
		t0 := time.Now()
		fn(k)
		ns[i] = float64(time.Since(t0).Nanoseconds()) / float64(k)
		done += float64(k)
	}
	return ns, done
}

var failures int

// check reports a total that is not exact: it voids the workload (its
// figure is not printed), the other workloads go on and the exit status
// is 1.
func check(ok bool, what string, got, want float64) bool {
	if !ok {
		fmt.Printf("# FAILED %s %s: got %.17g, want %.17g; no figure\n", lib, what, got, want)
		fmt.Fprintf(os.Stderr, "bench: %s: got %.17g, want %.17g\n", what, got, want)
		failures++
	}
	return ok
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func liveRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rss()
}

// threadCPU is the calling OS thread's CPU time in seconds (the caller is
// locked to its thread).
func threadCPU() float64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

func value(m prometheus.Metric) *dto.Metric {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	return &d
}

// ---- one thread -------------------------------------------------------------

func counterInc() {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bench_total", Help: "B."})
	ns, done := single(func(k int64) {
		for i := int64(0); i < k; i++ {
			c.Inc()
		}
	})
	got := value(c).GetCounter().GetValue()
	if check(got == done, "counter_inc total", got, done) {
		report("counter_inc", "ns/op", ns)
	}
}

func newHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bench_seconds", Help: "B.", Buckets: bounds})
}

func histogramObserve() {
	h := newHistogram()
	ns, done := single(func(k int64) {
		for i := int64(0); i < k; i++ {
			h.Observe(float64(i&1023) * 0.01)
		}
	})
	got := float64(value(h).GetHistogram().GetSampleCount())
	if check(got == done, "histogram_observe total", got, done) {
		report("histogram_observe", "ns/op", ns)
	}
}

func newLabeled() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bench_requests_total", Help: "B."},
		[]string{"method", "code"})
}

func labeledOnce(v *prometheus.CounterVec, i int64) {
	v.WithLabelValues(methods[i&3], codes[(i>>2)&3]).Inc()
}

func labeledTotal(v *prometheus.CounterVec) float64 {
	s := 0.0
	for i := 0; i < 16; i++ {
		s += value(v.WithLabelValues(methods[i&3], codes[i>>2])).GetCounter().GetValue()
	}
	return s
}

func labeledInc() {
	v := newLabeled()
	ns, done := single(func(k int64) {
		for i := int64(0); i < k; i++ {
			labeledOnce(v, i)
		}
	})
	if check(labeledTotal(v) == done, "labeled_inc total", labeledTotal(v), done) {
		report("labeled_inc", "ns/op", ns)
	}
}

// ---- N threads ----------------------------------------------------------------

// team runs fn(index, per) on n goroutines, each locked to its own thread,
// released together once all are ready; it returns the wall time from the
// release to the last one's end (read by that one) and the sum of their
// CPU time. When `after` is not nil, the threads stay alive (each waits
// after fn) while the caller runs it.
func team(n int, per int64, fn func(idx int, per int64), after func()) (wall, cpu float64) {
	procs := runtime.GOMAXPROCS(0)
	if n > runtime.NumCPU() {
		runtime.GOMAXPROCS(n)
	} else {
		runtime.GOMAXPROCS(runtime.NumCPU())
	}
	defer runtime.GOMAXPROCS(procs)
	var ready, done sync.WaitGroup
	start, release := make(chan struct{}), make(chan struct{})
	ends := make([]time.Time, n)
	cpus := make([]float64, n)
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			c0 := threadCPU()
			fn(i, per)
			cpus[i] = threadCPU() - c0
			ends[i] = time.Now()
			done.Done()
			if after != nil {
				<-release
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	if after != nil {
		after()
		close(release)
	}
	last := t0
	for i := range ends {
		if ends[i].After(last) {
			last = ends[i]
		}
		cpu += cpus[i]
	}
	return last.Sub(t0).Seconds(), cpu
}

// calibrate finds the operations per thread for trials of about trialS
// (times LUMEN_BENCH_SCALE), as bench_team_calibrate does.
func calibrate(n int, fn func(int, int64), done *float64) int64 {
	target := trialS * scale()
	per := int64(1000)
	for {
		w, _ := team(n, per, fn, nil)
		*done += float64(per) * float64(n)
		if w >= target/2 || per >= 1<<30 {
			if w >= target || w <= 0 {
				return per
			}
			return int64(float64(per) * target / w)
		}
		if w > target/10 {
			per *= int64(target/w) + 1
		} else {
			per *= 10
		}
	}
}

func nthreads(name string, want func(string) bool) {
	for _, n := range threadCounts {
		full := fmt.Sprintf("%s_%dthreads", name, n)
		if !want(full) {
			continue
		}
		var fn func(int, int64)
		var total func() float64
		switch name {
		case "counter_inc":
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bench_total", Help: "B."})
			fn = func(_ int, per int64) {
				for i := int64(0); i < per; i++ {
					c.Inc()
				}
			}
			total = func() float64 { return value(c).GetCounter().GetValue() }
		case "histogram_observe":
			h := newHistogram()
			fn = func(_ int, per int64) {
				for i := int64(0); i < per; i++ {
					h.Observe(float64(i&1023) * 0.01)
				}
			}
			total = func() float64 { return float64(value(h).GetHistogram().GetSampleCount()) }
		default:
			v := newLabeled()
			fn = func(idx int, per int64) {
				for i := int64(0); i < per; i++ {
					labeledOnce(v, i+int64(idx))
				}
			}
			total = func() float64 { return labeledTotal(v) }
		}
		done := 0.0
		per := calibrate(n, fn, &done)
		ns := make([]float64, trials)
		cpu := make([]float64, trials)
		for t := range ns {
			w, c := team(n, per, fn, nil)
			ns[t] = w * 1e9 / float64(per)
			cpu[t] = c * 1e9 / float64(per) / float64(n)
			done += float64(per) * float64(n)
		}
		if check(total() == done, full, total(), done) {
			report(full, "ns/op/thread", ns)
		}
		fmt.Printf("# %s %s thread CPU time %.2f ns/op (min %.2f)\n", lib, full, median(cpu), minimum(cpu))
	}
}

// ---- series and renders -------------------------------------------------------

type seriesSet struct {
	reg  *prometheus.Registry
	fams []*prometheus.CounterVec
	c    []prometheus.Counter // nil unless kept
}

func newSeries(fams, per int, keep bool, handles []prometheus.Counter) *seriesSet {
	s := &seriesSet{reg: prometheus.NewRegistry(), c: handles}
	for i := 0; i < fams; i++ {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: fmt.Sprintf("bench_family_%d_total", i), Help: "Requests served."},
			[]string{"path", "code"})
		s.reg.MustRegister(v)
		s.fams = append(s.fams, v)
		for k := 0; k < per; k++ {
			c := v.WithLabelValues("/api/v1/item/"+strconv.Itoa(k), "200")
			c.Add(float64(k))
			if keep {
				s.c = append(s.c, c)
			}
		}
	}
	return s
}

func renderOnce(reg *prometheus.Registry) (float64, []byte) {
	var b bytes.Buffer
	t0 := time.Now()
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			panic(err)
		}
	}
	return time.Since(t0).Seconds(), b.Bytes()
}

func render(fams, per, reps int, name string, scale float64, unit string) {
	s := newSeries(fams, per, false, nil)
	renderOnce(s.reg)
	t := make([]float64, reps)
	for i := range t {
		t[i], _ = renderOnce(s.reg)
	}
	fmt.Printf("%s %s %.3f %s\n", lib, name, median(t)*scale, unit)
}

func renderCold() {
	s := newSeries(100, 100, false, nil)
	renderOnce(s.reg)
	t := make([]float64, 11)
	for i := range t {
		s.fams[i%100].WithLabelValues("/api/v1/new/"+strconv.Itoa(i), "200").Inc()
		t[i], _ = renderOnce(s.reg)
	}
	fmt.Printf("%s render_10k_series_cold %.3f ms/render\n", lib, median(t)*1e3)
}

func renderChurn() {
	s := newSeries(100, 100, false, nil)
	renderOnce(s.reg)
	var stop int32
	var pairs int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
			v := s.fams[i%len(s.fams)]
			v.WithLabelValues("/api/v1/churn", "200").Inc()
			v.DeleteLabelValues("/api/v1/churn", "200")
			atomic.AddInt64(&pairs, 1)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for atomic.LoadInt64(&pairs) == 0 {
		runtime.Gosched()
	}
	p0 := atomic.LoadInt64(&pairs)
	t := make([]float64, 21)
	for i := range t {
		t[i], _ = renderOnce(s.reg)
	}
	done := atomic.LoadInt64(&pairs) - p0
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	fmt.Printf("%s render_10k_series_churn %.3f ms/render\n", lib, median(t)*1e3)
	fmt.Printf("# %s render_10k_series_churn: renders while another thread adds, increments and removes "+
		"a series every 100 us: %d add/remove pairs during %d renders\n", lib, done, len(t))
}

func touchAll(s *seriesSet) func(int, int64) {
	return func(idx int, _ int64) {
		total := len(s.c)
		start := idx * 7919 % total
		for k := 0; k < total; k++ {
			s.c[(start+k)%total].Inc()
		}
	}
}

func renderNthreads(want func(string) bool) {
	for _, n := range renderThreads {
		name := fmt.Sprintf("render_10k_series_%dthreads", n)
		if !want(name) {
			continue
		}
		s := newSeries(100, 100, true, nil)
		var t []float64
		var cold float64
		ok := true
		team(n, 0, touchAll(s), func() {
			var text []byte
			cold, text = renderOnce(s.reg)
			// client_golang sorts the labels by name.
			keys := []string{`bench_family_0_total{code="200",path="/api/v1/item/7"}`,
				`bench_family_99_total{code="200",path="/api/v1/item/99"}`}
			wants := []float64{float64(7 + n), float64(99 + n)}
			for i, k := range keys {
				got := sample(string(text), k)
				ok = check(got == wants[i], name, got, wants[i]) && ok
			}
			for i := 0; i < 7; i++ {
				w, _ := renderOnce(s.reg)
				t = append(t, w)
			}
		})
		if ok {
			fmt.Printf("%s %s %.3f ms/render\n", lib, name, median(t)*1e3)
		}
		fmt.Printf("# %s %s first render %.3f ms\n", lib, name, cold*1e3)
	}
}

func sample(text, key string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, key+" ") {
			v, _ := strconv.ParseFloat(line[len(key)+1:], 64)
			return v
		}
	}
	return -1
}

// ---- memory (each in its own process) -----------------------------------------

const memSeries = 1000 * 1000

func memoryPerSeries() {
	before := liveRSS()
	s := newSeries(1000, 1000, false, nil)
	after := liveRSS()
	runtime.KeepAlive(s)
	fmt.Printf("%s memory_per_series %.1f bytes\n", lib, float64(after-before)/memSeries)
}

func memory64threads() {
	// The handle slice is allocated and touched before the first reading.
	handles := make([]prometheus.Counter, memSeries)
	for i := range handles {
		handles[i] = nil
	}
	handles = handles[:0]
	before := liveRSS()
	s := newSeries(1000, 1000, true, handles)
	created := liveRSS()
	var after int64
	ok := false
	team(64, 0, touchAll(s), func() {
		after = liveRSS()
		last := value(s.c[memSeries-1]).GetCounter().GetValue()
		ok = check(last == 999+64, "memory_per_series_64threads total", last, 999+64)
	})
	if ok {
		fmt.Printf("%s memory_per_series_64threads %.1f bytes\n", lib, float64(after-before)/memSeries)
	}
	fmt.Printf("# %s memory_per_series_64threads: %.1f bytes of it added by the threads\n", lib,
		float64(after-created)/memSeries)
	runtime.KeepAlive(s)
}

func inChild(name string) {
	cmd := exec.Command(os.Args[0], name)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Printf("# FAILED %s %s: %v\n", lib, name, err)
		failures++
	}
}

func main() {
	args := os.Args[1:]
	want := func(name string) bool {
		if len(args) == 0 {
			return true
		}
		for _, a := range args {
			if a == name || (strings.HasSuffix(a, "*") && strings.HasPrefix(name, a[:len(a)-1])) {
				return true
			}
		}
		return false
	}
	// Asked for by name (as inChild does), a memory workload runs here;
	// otherwise in a fresh process of its own.
	if len(args) == 1 && args[0] == "memory_per_series" {
		memoryPerSeries()
		return
	}
	if len(args) == 1 && args[0] == "memory_per_series_64threads" {
		memory64threads()
		if failures > 0 {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("# %s: N-thread workers are goroutines locked to their own OS threads, GOMAXPROCS max(N, %d CPUs)\n",
		lib, runtime.NumCPU())
	if want("memory_per_series") {
		inChild("memory_per_series")
	}
	if want("memory_per_series_64threads") {
		inChild("memory_per_series_64threads")
	}
	if want("counter_inc") {
		counterInc()
	}
	if want("histogram_observe") {
		histogramObserve()
	}
	if want("labeled_inc") {
		labeledInc()
	}
	nthreads("counter_inc", want)
	nthreads("histogram_observe", want)
	nthreads("labeled_inc", want)
	if want("render_10k_series") {
		render(100, 100, 11, "render_10k_series", 1e6, "us/render")
	}
	if want("render_10k_series_cold") {
		renderCold()
	}
	if want("render_10k_series_churn") {
		renderChurn()
	}
	renderNthreads(want)
	if want("render_100k_series") {
		render(100, 1000, 5, "render_100k_series", 1e3, "ms/render")
	}
	if want("render_1m_series") {
		render(1000, 1000, 3, "render_1m_series", 1e3, "ms/render")
	}
	if failures > 0 {
		os.Exit(1)
	}
}
