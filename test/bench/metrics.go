package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one Prometheus series value.
type sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// scrape is one reading of the operator's /metrics.
type scrape []sample

// parseMetrics reads the Prometheus text format (no timestamps, simple label values).
func parseMetrics(r io.Reader) (scrape, error) {
	var out scrape
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		series := line[:i]
		s := sample{Name: series, Labels: map[string]string{}, Value: v}
		if j := strings.IndexByte(series, '{'); j >= 0 {
			s.Name = series[:j]
			body := strings.TrimSuffix(series[j+1:], "}")
			for body != "" {
				eq := strings.IndexByte(body, '=')
				if eq < 0 || eq+1 >= len(body) || body[eq+1] != '"' {
					break
				}
				key := body[:eq]
				rest := body[eq+2:]
				end := 0
				for end < len(rest) && (rest[end] != '"' || (end > 0 && rest[end-1] == '\\')) {
					end++
				}
				s.Labels[key] = rest[:min(end, len(rest))]
				body = strings.TrimPrefix(rest[min(end+1, len(rest)):], ",")
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func scrapeURL(url string) (scrape, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// sum adds the values of the series called name whose labels match every key=value of
// match.
func (s scrape) sum(name string, match map[string]string) float64 {
	var total float64
	for _, x := range s {
		if x.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if x.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			total += x.Value
		}
	}
	return total
}

// requests is the operator's OpenStack call counter, summed by a key of its labels.
func (s scrape) requests(key func(map[string]string) string) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s {
		if x.Name == "whitehall_openstack_requests_total" {
			out[key(x.Labels)] += x.Value
		}
	}
	return out
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	le    float64
	count float64
}

// histogram returns the cumulative buckets of histogram name (summed over its other
// labels), the sum and the count.
func (s scrape) histogram(name string) ([]bucket, float64, float64) {
	byLE := map[float64]float64{}
	for _, x := range s {
		if x.Name == name+"_bucket" {
			le, err := strconv.ParseFloat(x.Labels["le"], 64)
			if err != nil {
				continue
			}
			byLE[le] += x.Value
		}
	}
	out := make([]bucket, 0, len(byLE))
	for le, c := range byLE {
		out = append(out, bucket{le, c})
	}
	slices.SortFunc(out, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	return out, s.sum(name+"_sum", nil), s.sum(name+"_count", nil)
}

// histDelta is a histogram's change between two scrapes.
type histDelta struct {
	buckets    []bucket
	sum, count float64
}

func deltaHistogram(before, after scrape, name string) histDelta {
	b0, s0, c0 := before.histogram(name)
	b1, s1, c1 := after.histogram(name)
	prev := map[float64]float64{}
	for _, b := range b0 {
		prev[b.le] = b.count
	}
	d := histDelta{sum: s1 - s0, count: c1 - c0}
	for _, b := range b1 {
		d.buckets = append(d.buckets, bucket{b.le, b.count - prev[b.le]})
	}
	return d
}

// quantile interpolates linearly inside the bucket that holds quantile q.
func (h histDelta) quantile(q float64) float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	rank := q * h.count
	lower, below := 0.0, 0.0
	for _, b := range h.buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lower
			}
			in := b.count - below
			if in <= 0 {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/in
		}
		lower, below = b.le, b.count
	}
	return lower
}

// maxBound is the upper bound of the highest bucket that gained an observation: the
// histogram's best statement of the maximum.
func (h histDelta) maxBound() float64 {
	prev := 0.0
	bound := 0.0
	for _, b := range h.buckets {
		if b.count > prev {
			bound = b.le
		}
		prev = b.count
	}
	return bound
}

func (h histDelta) mean() float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	return h.sum / h.count
}

// rss returns VmRSS and VmHWM of a process, in KiB.
func rss(pid int) (int, int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var vmRSS, vmHWM int
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			vmRSS = n
		case "VmHWM:":
			vmHWM = n
		}
	}
	return vmRSS, vmHWM, nil
}
