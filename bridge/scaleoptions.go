package bridge

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/zig-h3/h3bun/server"
)

// decodeScaleOptions applies the options of many workers and many
// machines (see server.Config.ReusePort): {"reusePort": true, "workerId":
// 0, "workers": 2, "clusterSecret": "at least 16 bytes", "zeroRtt": false,
// "quicLbServerId": "0a1b" (hex), "quicLbConfigRotation": 1}. Absent
// fields keep their value; clusterSecret and quicLbServerId take null or
// "" for none.
func decodeScaleOptions(spec []byte, cfg *server.Config) error {
	var secret, serverID *string
	var zeroRTT *bool
	o := struct {
		ReusePort            *bool    `json:"reusePort"`
		WorkerID             *int     `json:"workerId"`
		Workers              *int     `json:"workers"`
		ClusterSecret        **string `json:"clusterSecret"`
		ZeroRTT              **bool   `json:"zeroRtt"`
		QUICLBServerID       **string `json:"quicLbServerId"`
		QUICLBConfigRotation *int     `json:"quicLbConfigRotation"`
	}{&cfg.ReusePort, &cfg.WorkerID, &cfg.Workers, &secret, &zeroRTT, &serverID, &cfg.QUICLBConfigRotation}
	if err := json.Unmarshal(spec, &o); err != nil {
		return fmt.Errorf("%w: options: %v", server.ErrInvalidArgument, err)
	}
	if o.ClusterSecret != nil { // present, maybe null
		cfg.ClusterSecret = nil
		if secret != nil {
			cfg.ClusterSecret = []byte(*secret)
		}
	}
	if zeroRTT != nil {
		cfg.Disable0RTT = !*zeroRTT
	}
	if o.QUICLBServerID != nil {
		cfg.QUICLBServerID = nil
		if serverID != nil {
			id, err := hex.DecodeString(*serverID)
			if err != nil {
				return fmt.Errorf("%w: quicLbServerId must be hex digits: %v", server.ErrInvalidArgument, err)
			}
			cfg.QUICLBServerID = id
		}
	}
	return nil
}
