package main

import (
	"slices"
	"strings"
)

// sortMembers orders members by name, case-insensitively, then by URI.
func sortMembers(ms []member) {
	slices.SortFunc(ms, func(a, b member) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.URI, b.URI)
	})
}

func sortStrings(s []string) {
	slices.SortFunc(s, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
}
