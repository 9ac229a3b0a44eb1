// Umbrella header for the wire layer: byte views of Ethernet II, IPv4, UDP and
// TCP (with options), the Internet checksum, sequence numbers, addresses,
// whole-frame helpers and the text summary. Header-only, standard library only.
//
// Place in the layers: wire is the bottom layer; it includes no simulator and
// no OS headers, so both the simulator and the NFQUEUE gateway use it.
#pragma once

#include "tcpmig/wire/address.hpp"
#include "tcpmig/wire/bytes.hpp"
#include "tcpmig/wire/checksum.hpp"
#include "tcpmig/wire/ethernet.hpp"
#include "tcpmig/wire/format.hpp"
#include "tcpmig/wire/frame.hpp"
#include "tcpmig/wire/ipv4.hpp"
#include "tcpmig/wire/result.hpp"
#include "tcpmig/wire/seq.hpp"
#include "tcpmig/wire/tcp.hpp"
#include "tcpmig/wire/udp.hpp"
