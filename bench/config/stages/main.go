// Command stages times each stage of "bulwark -c" in a fresh process, where
// the heap starts empty: unlike the Go benchmark, every page is new to the
// process and the collector starts from a small heap, as in a real check.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stages FILE [CPUPROFILE]")
		os.Exit(2)
	}
	if len(os.Args) > 2 {
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	cfg, ds := config.ParseFiles(os.Args[1:2], config.ParseOptions{})
	t1 := time.Now()
	m, cds := model.Compile(cfg, model.Options{})
	t2 := time.Now()
	_, pds := plan.Compile(m, plan.Options{})
	t3 := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("parse %.1f ms, compile %.1f ms, plan %.1f ms, total %.1f ms; %d diagnostics; %d GCs, %.1f MB allocated, %.1f MB from OS\n",
		ms1(t1.Sub(t0)), ms1(t2.Sub(t1)), ms1(t3.Sub(t2)), ms1(t3.Sub(t0)),
		len(ds)+len(cds)+len(pds), ms.NumGC, float64(ms.TotalAlloc)/1e6, float64(ms.Sys)/1e6)
}

func ms1(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
