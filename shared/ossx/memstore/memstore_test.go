package memstore_test

import (
	"testing"

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
