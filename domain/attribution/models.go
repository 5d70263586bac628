// Package attribution credits the touches before a milestone crossing with the usual B2B
// models (first touch, last touch, linear, U-shaped, W-shaped, time decay) and decides which
// scorings cross a milestone. It is pure: no SQL, no HTTP.
package attribution

import (
	"math"
	"slices"
	"time"
)

// Model names one way of sharing a crossing's credit among its touches.
type Model int

// The models, in the order reports show them.
const (
	FirstTouch Model = iota
	LastTouch
	Linear
	UShaped
	WShaped
	TimeDecay
	NumModels
)

// Models lists every model, for loops and menus.
var Models = []Model{FirstTouch, LastTouch, Linear, UShaped, WShaped, TimeDecay}

// Key is the model's name in URLs and CSV headers.
func (m Model) Key() string {
	return [...]string{"first", "last", "linear", "u", "w", "decay"}[m]
}

// Label names the model with its percentages: vendors differ (Marketo's U-shape is 50/50,
// HubSpot's 40/40/20), so the page says which one this is.
func (m Model) Label(halfLifeDays float64) string {
	switch m {
	case FirstTouch:
		return "First touch (100% to the first)"
	case LastTouch:
		return "Last touch (100% to the last before the crossing)"
	case Linear:
		return "Linear (equal shares)"
	case UShaped:
		return "U-shaped (40% first, 40% last, 20% between)"
	case WShaped:
		return "W-shaped (30% first, 30% lead creation, 30% last, 10% between)"
	default:
		return "Time decay (" + trimFloat(halfLifeDays) + "-day half-life)"
	}
}

// ModelByKey finds a model by its Key; ok is false for an unknown key.
func ModelByKey(key string) (Model, bool) {
	for _, m := range Models {
		if m.Key() == key {
			return m, true
		}
	}
	return 0, false
}

// Settings are a workspace's attribution settings.
type Settings struct {
	LookbackDays int     // touches older than this before the crossing get no credit
	HalfLifeDays float64 // time decay: a touch this much older gets half the weight
}

// DefaultSettings are a new workspace's.
var DefaultSettings = Settings{LookbackDays: 90, HalfLifeDays: 7}

// Weights selects the touches that share a crossing's credit — those in the lookback window
// up to and including the crossing's instant, ordered by time then activity — and returns
// them with each model's share per touch (each model's shares sum to 1; no touches, no
// shares). created is when the person became a lead, for W-shaped's lead-creation touch.
func Weights(touches []Touch, crossed, created time.Time, s Settings) ([]Touch, [NumModels][]float64) {
	from := crossed.Add(-time.Duration(s.LookbackDays) * 24 * time.Hour)
	var in []Touch
	for _, t := range touches {
		if !t.At.Before(from) && !t.At.After(crossed) {
			in = append(in, t)
		}
	}
	slices.SortFunc(in, func(a, b Touch) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return compareInt(a.ActivityID, b.ActivityID)
	})
	var w [NumModels][]float64
	n := len(in)
	if n == 0 {
		return nil, w
	}
	for m := range w {
		w[m] = make([]float64, n)
	}
	w[FirstTouch][0] = 1
	w[LastTouch][n-1] = 1
	for i := range in {
		w[Linear][i] = 1 / float64(n)
	}
	shaped(w[UShaped], []int{0, n - 1}, 0.4, 0.2)
	shaped(w[WShaped], []int{0, creationTouch(in, created), n - 1}, 0.3, 0.1)
	decay(w[TimeDecay], in, crossed, s.HalfLifeDays)
	return in, w
}

// shaped gives each key touch `key` and splits `rest` equally among the other touches. Key
// touches that coincide (few touches) are counted once, and what no touch can take — no
// touches between, or fewer distinct key touches — is shared equally among the key touches,
// so one touch gets 100% and two get 50% each.
func shaped(w []float64, keys []int, key, rest float64) {
	keys = slices.Compact(slices.Clone(keys))
	others := len(w) - len(keys)
	left := 1 - key*float64(len(keys))
	if others > 0 {
		for i := range w {
			w[i] = rest / float64(others)
		}
		left -= rest
	}
	for _, k := range keys {
		w[k] = key + left/float64(len(keys))
	}
}

// creationTouch is W-shaped's middle key touch: the first touch at or after the person became
// a lead, unless that is the first or last touch; then (or without one) the middle touch.
func creationTouch(in []Touch, created time.Time) int {
	n := len(in)
	if n < 3 {
		return 0
	}
	for i, t := range in {
		if !t.At.Before(created) {
			if i > 0 && i < n-1 {
				return i
			}
			break
		}
	}
	return n / 2
}

// decay weighs each touch 2^(−age/half-life), age measured back from the crossing.
func decay(w []float64, in []Touch, crossed time.Time, halfLifeDays float64) {
	var sum float64
	for i, t := range in {
		age := crossed.Sub(t.At).Hours() / 24
		w[i] = math.Exp2(-age / halfLifeDays)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
