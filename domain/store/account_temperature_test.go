package store_test

import (
	"context"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestAccountTemperatureFloors: an account takes its hottest person's temperature. A floor
// (a temperature the caller knows one of its people has) is taken as given, and only hotter
// temperatures are looked for; without floors every temperature is looked for.
func TestAccountTemperatureFloors(t *testing.T) {
	st, db := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	a := seedTenant(t, st, "a")
	// Accounts 1–4 (names), with their people's temperatures.
	people := map[string][]string{"one": {"warm", "cold"}, "two": {"cold"}, "three": {}, "four": {"hot", "frozen"}}
	ids := map[string]int64{}
	for _, name := range []string{"one", "two", "three", "four"} {
		var id int64
		if err := db.QueryRow(`INSERT INTO accounts (workspace_id, domain, name, temperature) VALUES ($1, $2, $2, 'neutral') RETURNING id`,
			a.ws.ID, name+".example").Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
		for i, temp := range people[name] {
			pgtest.Exec(t, db, `INSERT INTO leads (workspace_id, email, account_id, temperature) VALUES ($1, $2, $3, $4)`,
				a.ws.ID, name+string(rune('a'+i))+"@"+name+".example", ids[name], temp)
		}
	}
	set := func(names []string, floors []string) {
		t.Helper()
		var list []int64
		for _, n := range names {
			list = append(list, ids[n])
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SetAccountTemperatures(ctx, a.ws.ID, list, floors) }); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		for name, temp := range want {
			var got string
			if err := db.QueryRow(`SELECT temperature FROM accounts WHERE workspace_id = $1 AND id = $2`, a.ws.ID, ids[name]).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != temp {
				t.Errorf("%s: account %s is %s, want %s", step, name, got, temp)
			}
		}
	}

	set([]string{"one", "two", "three", "four"}, nil)
	check("looked up", map[string]string{"one": "warm", "two": "cold", "three": "frozen", "four": "hot"})

	// A floor below the hottest person: the hotter person is still found.
	set([]string{"one", "two"}, []string{"cold", ""})
	check("floor below", map[string]string{"one": "warm", "two": "cold"})

	// A floor is taken as given: the caller scored that person in its own transaction.
	set([]string{"one", "two", "three"}, []string{"hot", "neutral", "warm"})
	check("floors", map[string]string{"one": "hot", "two": "neutral", "three": "warm", "four": "hot"})

	// Without floors, each account is looked up again.
	set(nil, nil)
	check("every account", map[string]string{"one": "warm", "two": "cold", "three": "frozen", "four": "hot"})

	// Floors must match the accounts one for one.
	err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetAccountTemperatures(ctx, a.ws.ID, []int64{ids["one"]}, []string{"hot", "hot"})
	})
	if err == nil {
		t.Error("two floors for one account were accepted")
	}
}
