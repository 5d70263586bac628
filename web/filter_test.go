package web_test

import "github.com/peregrine-scoring/peregrine/domain/store"

func storeFilter(q string) store.LeadFilter { return store.LeadFilter{Search: q, Limit: 50} }
