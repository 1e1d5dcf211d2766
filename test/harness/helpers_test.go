package main

import (
	"testing"

	"mediastate/test/localstack"
)

func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := localstack.FindRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func fixtures(tb testing.TB) *Fixtures {
	tb.Helper()
	fx, err := LoadFixtures(repoRoot(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return fx
}
