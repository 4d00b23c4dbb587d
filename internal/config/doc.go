// Package config is parleyd's configuration: one Config struct, its
// defaults in one place (Default), a TOML file (Load, Parse), command-line
// flags that override the file (RegisterFlags, ApplyFlags) and validation
// that reports every problem at once (Validate, Errors).
//
// cmd/parleyd needs only FromArgs, which also implements -t (check the
// configuration and exit) and -print-config (print default.toml, the
// commented default configuration embedded in the binary; a test keeps it
// equal to Default).
//
// Precedence, lowest first: Default, the -config file, the flags given on
// the command line. Flags are parsed first, the file is loaded, then only
// the flags actually given are applied again (fs.Visit), so a flag wins
// over the file wherever it appears.
//
// File format: TOML, keys in snake_case, tables [server], [sip], [msrp],
// [rooms], [log] and one [[room]] per configured room. Durations are
// strings ("30s"); sizes are integers in bytes or strings with a unit
// ("4MiB", "16KiB", "4MB"). Keys are matched exactly; an unknown key is an
// error. Listen addresses are host:port; port 0 means any free port.
//
// Errors: Load, Parse, FromArgs and Validate return Errors, one *Error per
// problem with its key path ("msrp.max_chunk", "room[1].name") and, when
// the value came from the file, file:line (file:line:col for TOML syntax
// errors), or the flag that set it.
//
// Rooms: RoomPolicy merges the [rooms] policy with a [[room]] entry's
// overrides (configured rooms default to delete_when = "never"); MSRPLimits
// gives the [msrp] size limits to the relay. The package is a leaf: it
// imports only the standard library and github.com/BurntSushi/toml.
package config
