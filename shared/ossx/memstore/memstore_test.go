package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"mediastate/shared/ossx"

	"mediastate/shared/ossx/drivertest"
	"mediastate/shared/ossx/memstore"
	"mediastate/shared/ossx/ossfault"
)

func TestConformance(t *testing.T) {
	st := memstore.New(memstore.Options{})
	inj := ossfault.NewInjector()
	drivertest.RunConformanceTests(t, drivertest.Harness{
		Driver:        ossfault.Wrap(st, inj),
		Prefix:        "p/",
		SetVersioning: st.SetVersioning,
		SetFaults:     inj.Set,
	})
}

// TestClockAndSaveLoad: LastModified comes from the injected clock (to the
// second, as OSS's), and Save/Load keep objects, metadata and versioning.
func TestClockAndSaveLoad(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	st := memstore.New(memstore.Options{Now: func() time.Time { return at }})
	ctx := context.Background()
	if err := st.Put(ctx, "k", []byte("body"), ossx.PutOptions{Meta: map[string]string{"Seq": "1"}, ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetVersioning("Suspended"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := st.Save(&buf); err != nil {
		t.Fatal(err)
	}
	again := memstore.New(memstore.Options{})
	if err := again.Load(&buf); err != nil {
		t.Fatal(err)
	}
	body, info, err := again.Get(ctx, "k")
	if err != nil || string(body) != "body" || !info.LastModified.Equal(at.Truncate(time.Second)) || info.Meta["seq"] != "1" || info.ContentType != "text/plain" {
		t.Fatalf("after Load: %q %+v %v", body, info, err)
	}
	if v, _ := again.Versioning(ctx); v != "Suspended" {
		t.Fatalf("versioning after Load: %q", v)
	}
	if err := st.SetVersioning("On"); err == nil {
		t.Fatal("an invalid versioning status was accepted")
	}
	if _, err := st.List(ctx, ossx.ListOptions{ContinuationToken: "!"}); !errors.Is(err, memstore.ErrInvalidToken) {
		t.Fatalf("List with a bad token: %v", err)
	}
}
