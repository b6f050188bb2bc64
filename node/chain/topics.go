package chain

import "github.com/meganode/meganode/node"

// The gossip topics. They live here, beside the formats they carry, so that
// the roles name them without importing each other.
const (
	// TopicMiniBlocks carries the sequencer's mini-blocks
	// (FormatMiniBlockV1), each published once it is durable.
	TopicMiniBlocks node.Topic = "meganode/miniblocks/1"
	// TopicBlocks carries sealed blocks' bundles (mini-blocks and witness,
	// BlockBundle), for the provers.
	TopicBlocks node.Topic = "meganode/blocks/1"
	// TopicAttestations carries the provers' signed attestations and fault
	// reports.
	TopicAttestations node.Topic = "meganode/attestations/1"
)
