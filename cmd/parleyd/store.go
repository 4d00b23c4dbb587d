package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/store"
)

// cliStore is what parleyd user and parleyd nick change: the store itself
// (directStore), or, while a parleyd runs on the embedded store and locks
// it, that parleyd through its control socket (controlStore).
type cliStore interface {
	CreateAccount(ctx context.Context, a store.Account) error
	PutAccount(ctx context.Context, a store.Account) error
	DeleteAccount(ctx context.Context, username string) error
	Accounts(ctx context.Context) ([]store.Account, error)
	GetAccount(ctx context.Context, username string) (store.Account, bool, error)
	RegisterNickname(ctx context.Context, r store.NicknameRegistration) error
	DropNickname(ctx context.Context, key string) error
	NicknameRegistrations(ctx context.Context) ([]store.NicknameRegistration, error)
	Close(ctx context.Context) error
}

// directStore is the store opened by the command.
type directStore struct{ *store.Store }

func (d directStore) GetAccount(_ context.Context, username string) (store.Account, bool, error) {
	a, ok := d.Account(username)
	return a, ok, nil
}

// openCLIStore opens the store cfg names for a management command (cmd:
// "user", "nick"): the store itself, or the running parleyd that holds it
// through its control socket. It explains on stderr why it cannot; nil
// and the exit status then.
func openCLIStore(ctx context.Context, cfg *config.Config, cmd string, stderr io.Writer) (cliStore, int) {
	if cfg.Store.Mode == config.StoreMemory && cfg.Store.URL == "" {
		fmt.Fprintf(stderr, "parleyd %s: store.mode is \"memory\": nothing would be kept; use the file store or store.url\n", cmd)
		return nil, 2
	}
	st, err := server.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
	switch {
	case err == nil:
		return directStore{st}, 0
	case errors.Is(err, store.ErrInUse):
		path := filepath.Join(cfg.Server.DataDir, server.ControlSocket)
		c, derr := net.Dial("unix", path)
		if derr != nil {
			fmt.Fprintf(stderr, "parleyd %s: the store in %s is in use, and the running parleyd cannot be reached on %s: %v\n", cmd, cfg.Server.DataDir, path, derr)
			return nil, 1
		}
		c.Close()
		return controlStore{path: path}, 0
	default:
		fmt.Fprintf(stderr, "parleyd %s: opening the store: %v\n", cmd, err)
		return nil, 1
	}
}

// controlStore reaches a running parleyd's store through its control
// socket: one connection per request.
type controlStore struct{ path string }

func (c controlStore) call(ctx context.Context, req server.ControlRequest) (server.ControlResponse, error) {
	var res server.ControlResponse
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return res, fmt.Errorf("reaching the running parleyd: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return res, err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return res, fmt.Errorf("reaching the running parleyd: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return res, fmt.Errorf("the running parleyd did not answer: %w", err)
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return res, fmt.Errorf("the running parleyd's answer: %w", err)
	}
	if res.Error != "" {
		if e, ok := server.ControlCodes[res.Code]; ok {
			return res, fmt.Errorf("%w (%s)", e, res.Error)
		}
		return res, errors.New(res.Error)
	}
	return res, nil
}

func (c controlStore) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := c.call(ctx, server.ControlRequest{Op: "account.create", Account: &a})
	return err
}

func (c controlStore) PutAccount(ctx context.Context, a store.Account) error {
	_, err := c.call(ctx, server.ControlRequest{Op: "account.put", Account: &a})
	return err
}

func (c controlStore) DeleteAccount(ctx context.Context, username string) error {
	_, err := c.call(ctx, server.ControlRequest{Op: "account.delete", Username: username})
	return err
}

func (c controlStore) Accounts(ctx context.Context) ([]store.Account, error) {
	res, err := c.call(ctx, server.ControlRequest{Op: "account.list"})
	return res.Accounts, err
}

func (c controlStore) GetAccount(ctx context.Context, username string) (store.Account, bool, error) {
	res, err := c.call(ctx, server.ControlRequest{Op: "account.get", Username: username})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Account{}, false, nil
	case err != nil:
		return store.Account{}, false, err
	case res.Account == nil:
		return store.Account{}, false, errors.New("the running parleyd answered no account")
	}
	return *res.Account, true, nil
}

func (c controlStore) RegisterNickname(ctx context.Context, r store.NicknameRegistration) error {
	_, err := c.call(ctx, server.ControlRequest{Op: "nickname.register", Nickname: &r})
	return err
}

func (c controlStore) DropNickname(ctx context.Context, key string) error {
	_, err := c.call(ctx, server.ControlRequest{Op: "nickname.drop", Key: key})
	return err
}

func (c controlStore) NicknameRegistrations(ctx context.Context) ([]store.NicknameRegistration, error) {
	res, err := c.call(ctx, server.ControlRequest{Op: "nickname.list"})
	return res.Nicknames, err
}

func (controlStore) Close(context.Context) error { return nil }

// commandConfig parses a management command's parleyd flags. ok is false,
// with the exit status, when the command ends there: -h, a bad flag (which
// config has reported), -t or -print-config.
func commandConfig(args []string, stdout, stderr io.Writer) (cfg *config.Config, status int, ok bool) {
	cfg, action, err := config.FromArgs(args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, 0, false
	case err != nil:
		return nil, 2, false
	case action != config.Run:
		return nil, 0, false
	}
	return cfg, 0, true
}
