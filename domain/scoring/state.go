package scoring

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

// The state of a lead is its current contributions in a compact binary form: per
// contribution, varints of rule id, rule version, activity id, score id and the earning time
// (Unix microseconds), then the points as 8 bytes. One row per lead is read instead of the
// ledger lines behind it.
const stateFormat = 1

// EncodeState packs contributions.
func EncodeState(cs []model.Contribution) []byte {
	out := make([]byte, 0, 1+len(cs)*24)
	out = append(out, stateFormat)
	for _, c := range cs {
		out = binary.AppendUvarint(out, uint64(c.RuleID))
		out = binary.AppendUvarint(out, uint64(c.RuleVersion))
		out = binary.AppendUvarint(out, uint64(c.ActivityID))
		out = binary.AppendUvarint(out, uint64(c.ScoreID))
		out = binary.AppendVarint(out, c.EarnedAt.UnixMicro())
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(c.Points))
	}
	return out
}

var errState = errors.New("scoring: unreadable lead state")

// DecodeState unpacks contributions of a lead.
func DecodeState(leadID int64, b []byte) ([]model.Contribution, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != stateFormat {
		return nil, errState
	}
	b = b[1:]
	var out []model.Contribution
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	for len(b) > 0 {
		c := model.Contribution{LeadID: leadID}
		c.RuleID = int64(next())
		c.RuleVersion = int(next())
		c.ActivityID = int64(next())
		c.ScoreID = int64(next())
		at, n := binary.Varint(b)
		if n <= 0 || len(b) < n+8 {
			return nil, errState
		}
		b = b[n:]
		c.EarnedAt = time.UnixMicro(at).UTC()
		c.Points = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		out = append(out, c)
	}
	return out, nil
}

// profileHash fingerprints what rules read of a lead besides its events: a lead whose
// profile changed since its state was stored is scored from scratch.
func profileHash(p rules.Profile, a *rules.Account) int64 {
	h := fnv.New64a()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	for _, s := range []string{p.Email, p.FirstName, p.LastName, p.Title, p.Country, p.Industry, p.LeadSource, p.Status} {
		write(s)
	}
	if p.CompanySize != nil {
		write(fmtFloat(*p.CompanySize))
	}
	write(fmtAny(p.Attributes))
	if a != nil {
		write(a.Domain)
		write(a.Name)
		write(a.Industry)
		if a.Employees != nil {
			write(fmtFloat(*a.Employees))
		}
	}
	return int64(h.Sum64() >> 1)
}
