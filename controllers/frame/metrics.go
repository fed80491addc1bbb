package frame

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// Sample is one gauge value to publish.
type Sample struct {
	Vec    *prometheus.GaugeVec
	Labels []string
	Value  float64
}

// series names one gauge series: its vector and its label values, joined.
type series struct {
	vec    *prometheus.GaugeVec
	labels string
}

const labelSep = "\x00"

// Published remembers the series each object Published, so that the series of a deleted
// object, or one it no longer publishes, are deleted rather than kept for good. A series
// two objects publish (two ComputeQuotas naming one Tenant, one of them refused) goes
// only when neither publishes it.
type Published struct {
	mu       sync.Mutex
	byObject map[types.NamespacedName]map[series]struct{}
	refs     map[series]int
}

func NewPublished() *Published {
	return &Published{byObject: map[types.NamespacedName]map[series]struct{}{}, refs: map[series]int{}}
}

// Publish sets obj's samples and deletes the series obj published last time and not now.
func (p *Published) Publish(obj types.NamespacedName, samples []Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := make(map[series]struct{}, len(samples))
	for _, s := range samples {
		s.Vec.WithLabelValues(s.Labels...).Set(s.Value)
		key := series{s.Vec, strings.Join(s.Labels, labelSep)}
		if _, dup := now[key]; dup {
			continue
		}
		now[key] = struct{}{}
		if _, had := p.byObject[obj][key]; !had {
			p.refs[key]++
		}
	}
	for key := range p.byObject[obj] {
		if _, still := now[key]; !still {
			p.release(key)
		}
	}
	if len(now) == 0 {
		delete(p.byObject, obj)
		return
	}
	p.byObject[obj] = now
}

// Forget deletes every series of obj.
func (p *Published) Forget(obj types.NamespacedName) { p.Publish(obj, nil) }

// release drops one reference to key, and the series with the last.
func (p *Published) release(key series) {
	if p.refs[key]--; p.refs[key] > 0 {
		return
	}
	delete(p.refs, key)
	key.vec.DeleteLabelValues(strings.Split(key.labels, labelSep)...)
}

// Remembers reports whether obj has series published.
func (p *Published) Remembers(obj types.NamespacedName) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.byObject[obj]
	return ok
}
