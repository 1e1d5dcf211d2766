package ossx

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	smithyrand "github.com/aws/smithy-go/rand"

	"mediastate/shared/apierr"
	"mediastate/shared/retry"
)

// MetaWriter is the metadata name (without x-oss-meta-) under which Create
// stores the id of the write attempt.
const MetaWriter = "writer"

// CreateOptions qualify a Create.
type CreateOptions struct {
	// Meta is stored as x-oss-meta-* headers, with MetaWriter added.
	Meta map[string]string
	// Retry is the policy for transient failures; zero means retry.Default.
	Retry retry.Policy
	// Valid, when set, is asked before every attempt whether the write may
	// still be sent; its error stops Create (returned as it is) unless an
	// earlier attempt is found to have landed.
	Valid func() error
}

// CreateResult says how a Create went.
type CreateResult struct {
	// Retries counts transient failures retried.
	Retries int
	// Resolved is true when an attempt's answer was lost and the object
	// was then found to be ours (by its writer id).
	Resolved bool
}

// Create is the one create-only write of the project: it writes body at
// key only if no object is there (x-oss-forbid-overwrite), and returns
// ErrExists when another writer's object is. A transient failure may have
// landed (the answer was lost), so attempts carry one writer id and are
// retried; an ErrExists or a stop (Valid) after such a failure is settled
// by reading the writer id back: ours means the write landed.
func (b *Bucket) Create(ctx context.Context, key string, body []byte, o CreateOptions) (CreateResult, error) {
	var res CreateResult
	writer, err := smithyrand.NewUUID(rand.Reader).GetUUID()
	if err != nil {
		return res, apierr.Transient(apierr.Internal, err, "writer id")
	}
	meta := make(map[string]string, len(o.Meta)+1)
	for k, v := range o.Meta {
		meta[k] = v
	}
	meta[MetaWriter] = writer
	if o.Retry == (retry.Policy{}) {
		o.Retry = retry.Default
	}
	ambiguous := false
	// settle decides a write that may have landed: ours means it did.
	settle := func(otherwise error) error {
		if !ambiguous {
			return otherwise
		}
		info, err := b.HeadObject(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return otherwise
		case err != nil:
			return fmt.Errorf("resolve ambiguous write of %s: %w", key, err)
		case info.Meta[MetaWriter] == writer:
			res.Resolved = true
			return nil
		}
		return otherwise
	}
	err = retry.Do(ctx, o.Retry, func(int) (bool, error) {
		if o.Valid != nil {
			if err := o.Valid(); err != nil {
				return false, settle(err)
			}
		}
		err := b.PutObject(ctx, key, body, PutOptions{ForbidOverwrite: true, Meta: meta})
		switch {
		case err == nil:
			return false, nil
		case errors.Is(err, ErrExists):
			return false, settle(err)
		case apierr.IsPermanent(err):
			return false, err
		default:
			ambiguous = true
			res.Retries++
			return true, err
		}
	})
	return res, err
}
