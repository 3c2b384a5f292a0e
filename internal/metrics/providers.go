package metrics

import (
	"cmp"
	"math"
	"slices"

	dto "github.com/prometheus/client_model/go"
)

// ProviderTotals are one provider's series summed since keygate started: what the console's
// live metrics page shows (GET /v1/metrics/providers).
type ProviderTotals struct {
	Tenant, Provider      string
	Requests, Errors      float64 // request phases, and those that failed
	Responses, RespErrors float64 // response phases, and those that failed
	Mean, P95             float64 // seconds per request phase; P95 estimated from the buckets
}

// PerProvider gathers the registry /metrics serves and sums its request series per provider.
// named is false when the series carry no names (Options.HideNames): there is then nothing per
// provider to tell apart, and totals stays empty.
func (m *Metrics) PerProvider() (totals []ProviderTotals, named bool, err error) {
	if m.hideNames {
		return nil, false, nil
	}
	if m.gatherer == nil {
		return nil, true, nil
	}
	families, err := m.gatherer.Gather()
	if err != nil {
		return nil, true, err
	}
	type key struct{ tenant, provider string }
	byKey := map[key]*ProviderTotals{}
	hist := map[key]*dto.Histogram{}
	at := func(ls []*dto.LabelPair) (key, map[string]string) {
		labels := map[string]string{}
		for _, l := range ls {
			labels[l.GetName()] = l.GetValue()
		}
		k := key{labels["tenant"], labels["provider"]}
		if byKey[k] == nil {
			byKey[k] = &ProviderTotals{Tenant: k.tenant, Provider: k.provider}
		}
		return k, labels
	}
	for _, f := range families {
		switch f.GetName() {
		case "keygate_requests_total":
			for _, mt := range f.GetMetric() {
				k, l := at(mt.GetLabel())
				t, v := byKey[k], mt.GetCounter().GetValue()
				failed := l["outcome"] == "failed"
				switch l["phase"] {
				case "request":
					t.Requests += v
					if failed {
						t.Errors += v
					}
				case "response":
					t.Responses += v
					if failed {
						t.RespErrors += v
					}
				}
			}
		case "keygate_request_duration_seconds":
			for _, mt := range f.GetMetric() {
				if k, l := at(mt.GetLabel()); l["phase"] == "request" {
					hist[k] = mt.GetHistogram()
				}
			}
		}
	}
	for k, h := range hist {
		if n := h.GetSampleCount(); n > 0 {
			byKey[k].Mean = h.GetSampleSum() / float64(n)
			byKey[k].P95 = quantile(0.95, h)
		}
	}
	for _, t := range byKey {
		if t.Provider != "" {
			totals = append(totals, *t)
		}
	}
	slices.SortFunc(totals, func(a, b ProviderTotals) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Provider, b.Provider))
	})
	return totals, true, nil
}

// quantile estimates q of a cumulative histogram as Prometheus's histogram_quantile does:
// linear within the bucket that holds it; the last finite bound when it lies beyond.
func quantile(q float64, h *dto.Histogram) float64 {
	n := float64(h.GetSampleCount())
	rank := q * n
	lower, below := 0.0, 0.0
	for _, b := range h.GetBucket() {
		upper, count := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if math.IsInf(upper, 1) {
			break
		}
		if count >= rank {
			if count == below {
				return upper
			}
			return lower + (upper-lower)*(rank-below)/(count-below)
		}
		lower, below = upper, count
	}
	return lower
}
