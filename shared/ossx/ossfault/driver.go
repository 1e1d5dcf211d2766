package ossfault

import (
	"context"
	"errors"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
)

// Wrap returns a Driver that sends every request through inj before d: a
// 503, 500 or reset fails it without applying it, a lost answer applies
// it and then fails it, all with the transient error the SDK driver gives
// for them.
func Wrap(d ossx.Driver, inj *Injector) ossx.Driver { return &driver{d: d, inj: inj} }

type driver struct {
	d   ossx.Driver
	inj *Injector
}

var (
	errReset = errors.New("connection reset by peer (injected)")
	errCodes = map[Action]string{Error503: "ServiceUnavailable", Error500: "InternalError"}
)

// run sends one request to op through the injector.
func (w *driver) run(ctx context.Context, o ossx.Op, key string, f func() error) error {
	op := o.String()
	act := w.inj.Decide(ctx, op)
	switch act {
	case Error503, Error500:
		w.inj.CountError(errCodes[act])
		return apierr.Transient(apierr.StorageUnavailable, errors.New(errCodes[act]+" (injected)"), "%s %s: HTTP %s", op, key, errCodes[act])
	case Reset:
		return apierr.Transient(apierr.StorageUnavailable, errReset, "%s %s", op, key)
	case Canceled:
		return apierr.Transient(apierr.StorageUnavailable, ctx.Err(), "%s %s", op, key)
	}
	err := f()
	if err != nil && errors.Is(err, ossx.ErrExists) {
		w.inj.CountError("FileAlreadyExists")
	} else if err != nil && errors.Is(err, ossx.ErrNotFound) {
		w.inj.CountError("NoSuchKey")
	}
	if act == LostResponse {
		return apierr.Transient(apierr.StorageUnavailable, errReset, "%s %s (the request was applied)", op, key)
	}
	return err
}

func (w *driver) Put(ctx context.Context, key string, body []byte, o ossx.PutOptions) error {
	return w.run(ctx, ossx.OpPut, key, func() error { return w.d.Put(ctx, key, body, o) })
}

func (w *driver) Get(ctx context.Context, key string) (body []byte, info ossx.ObjectInfo, err error) {
	err = w.run(ctx, ossx.OpGet, key, func() (err error) {
		body, info, err = w.d.Get(ctx, key)
		return err
	})
	return body, info, err
}

func (w *driver) Head(ctx context.Context, key string) (info ossx.ObjectInfo, err error) {
	err = w.run(ctx, ossx.OpHead, key, func() (err error) {
		info, err = w.d.Head(ctx, key)
		return err
	})
	return info, err
}

func (w *driver) List(ctx context.Context, o ossx.ListOptions) (page ossx.ListPage, err error) {
	err = w.run(ctx, ossx.OpList, o.Prefix, func() (err error) {
		page, err = w.d.List(ctx, o)
		return err
	})
	return page, err
}

func (w *driver) Delete(ctx context.Context, keys []string) error {
	op := ossx.OpDeleteMulti
	if len(keys) == 1 {
		op = ossx.OpDelete
	}
	return w.run(ctx, op, keys[0], func() error { return w.d.Delete(ctx, keys) })
}

func (w *driver) Versioning(ctx context.Context) (status string, err error) {
	err = w.run(ctx, ossx.OpVersioning, "", func() (err error) {
		status, err = w.d.Versioning(ctx)
		return err
	})
	return status, err
}
