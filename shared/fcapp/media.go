package fcapp

import (
	"mediastate/shared/callback"
	"mediastate/shared/media"
	"mediastate/shared/pipeline"
	"mediastate/shared/statestore"
)

// MediaSpec is the Spec of a function that keeps media state: upload,
// media, transcode and editing differ only in name and family. Events of
// other VOD/IMS families that reach them are applied too (the state is
// shared) and logged with foreignFamily=true; Live events are
// dead-lettered with WrongFamily.
func MediaSpec(name string, families ...callback.Family) Spec {
	return Spec{
		Name:     name,
		Families: families,
		NewApplier: func(env *Env) (pipeline.Applier, error) {
			o := statestore.Options{CacheSize: env.Config.CacheSize, CacheTTL: env.Config.CacheTTL}
			s, err := media.NewStore(env.Bucket, env.Config.Prefix, o)
			if err != nil {
				return nil, err
			}
			j, err := media.NewJobStore(env.Bucket, env.Config.Prefix, o)
			if err != nil {
				return nil, err
			}
			return media.Applier{Store: s, Jobs: j}, nil
		},
	}
}
