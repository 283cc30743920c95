// localpilot's entry points into opendbc's C safety code. Everything that decides whether a frame may be
// sent lives in opendbc's headers; this file only supplies what the panda firmware would around them:
// the microsecond timer the hooks read, packing raw frames into CANPacket_t, and the 1 Hz tick
// (heartbeat, mode timeouts, rx-check lag). Only the lp_* functions are exported.
//
// opendbc's state is plain globals (on the panda, interrupts serialize access). Python callers release the
// GIL around these calls and cand receives and sends on different threads, so every entry point holds lp_mutex.

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define LP_API __attribute__((visibility("default")))

static pthread_mutex_t lp_mutex = PTHREAD_MUTEX_INITIALIZER;
#define LOCKED(T, expr) { pthread_mutex_lock(&lp_mutex); T lp_ret = (expr); pthread_mutex_unlock(&lp_mutex); return lp_ret; }
#define LOCKED_VOID(stmt) { pthread_mutex_lock(&lp_mutex); stmt; pthread_mutex_unlock(&lp_mutex); }

// opendbc's hooks read time from this, the way the panda reads its free-running 32-bit 1 MHz timer.
// The caller feeds a monotonic clock in with every call, so a hook always sees the time of its own frame.
static uint32_t lp_timer_us = 0U;
uint32_t microsecond_timer_get(void);
uint32_t microsecond_timer_get(void) {
  return lp_timer_us;
}

#include "opendbc/safety/can.h"
#include "opendbc/safety/safety.h"

// bump when the exported API changes, so the Python wrapper refuses a stale build
#define LP_ABI_VERSION 1

// from the panda firmware's 1 Hz tick (board/main.c), which owns this policy rather than opendbc
#define LP_TICK_US 1000000ULL
#define LP_HEARTBEAT_TIMEOUT_TICKS 5U   // HEARTBEAT_IGNITION_CNT_ON: no heartbeat for this long -> SILENT
#define LP_HEARTBEAT_MISMATCH_TICKS 3U  // controls allowed but not engaged per heartbeat -> drop controls
#define LP_MAX_CATCHUP_TICKS 8U         // more than the timeouts above; after a longer stall just resync

static uint64_t lp_next_tick_us = 0U;
static uint32_t heartbeat_counter = 0U;
static bool heartbeat_lost = false;
static uint32_t tx_blocked = 0U;
static uint32_t rx_invalid = 0U;

static void lp_set_time(uint64_t now_us) {
  lp_timer_us = (uint32_t)now_us;  // wraps every ~71.6 min, as on the panda; opendbc's elapsed math is wrap-safe
}

static int lp_set_mode(uint16_t mode, uint16_t param) {
  int err = set_safety_hooks(mode, param);
  if (err != 0) {
    // a failed set leaves opendbc half-configured (old hooks, no tx whitelist): fall back to SILENT like the panda
    (void)set_safety_hooks(SAFETY_SILENT, 0U);
  }
  if ((current_safety_mode != SAFETY_SILENT) && (current_safety_mode != SAFETY_NOOUTPUT)) {
    heartbeat_counter = 0U;
    heartbeat_lost = false;
  }
  return err;
}

static void lp_tick_once(void) {
  if (heartbeat_counter < UINT32_MAX) {
    heartbeat_counter += 1U;
  }

  // exit controls if openpilot stopped saying it is engaged
  if (controls_allowed && !heartbeat_engaged) {
    heartbeat_engaged_mismatches += 1U;
    if (heartbeat_engaged_mismatches >= LP_HEARTBEAT_MISMATCH_TICKS) {
      controls_allowed = false;
    }
  } else {
    heartbeat_engaged_mismatches = 0U;
  }

  // the host went quiet: nothing may be sent until it sets a mode again
  if ((heartbeat_counter >= LP_HEARTBEAT_TIMEOUT_TICKS) && (current_safety_mode != SAFETY_SILENT)) {
    heartbeat_lost = true;
    heartbeat_engaged = false;
    (void)lp_set_mode(SAFETY_SILENT, 0U);
  }

  safety_mode_cnt += 1U;
  safety_tick(&current_safety_config);
}

// run every 1 Hz tick that is due, so a caller that forgets tick() still gets timeouts before its next frame
static void lp_run_due_ticks(uint64_t now_us) {
  uint32_t n = 0U;
  while ((now_us >= lp_next_tick_us) && (n < LP_MAX_CATCHUP_TICKS)) {
    lp_tick_once();
    lp_next_tick_us += LP_TICK_US;
    n += 1U;
  }
  if (now_us >= lp_next_tick_us) {
    lp_next_tick_us = now_us + LP_TICK_US;
  }
}

// -1: not a valid CAN/CAN FD frame (caller bug); else fills msg and returns 0
static int lp_pack(CANPacket_t *msg, uint32_t addr, uint8_t bus, const char *data, uint8_t len) {
  int dlc = -1;
  for (int i = 0; i < (int)sizeof(dlc_to_len); i++) {
    if (dlc_to_len[i] == len) {
      dlc = i;
      break;
    }
  }
  if ((dlc < 0) || (bus > 7U) || (addr >= (1UL << 29))) {
    return -1;
  }
  memset(msg, 0, sizeof(*msg));
  msg->fd = (len > 8U) ? 1U : 0U;
  msg->bus = bus;
  msg->data_len_code = (unsigned char)dlc;
  msg->extended = (addr >= 0x800U) ? 1U : 0U;
  msg->addr = addr;
  memcpy(msg->data, data, len);
  return 0;
}

static int set_safety_hooks_at(uint64_t now_us, uint16_t mode, uint16_t param) {
  lp_set_time(now_us);
  int err = lp_set_mode(mode, param);
  lp_next_tick_us = now_us + LP_TICK_US;
  tx_blocked = 0U;
  rx_invalid = 0U;
  return err;
}

static int rx_at(uint64_t now_us, const CANPacket_t *msg) {
  lp_set_time(now_us);
  lp_run_due_ticks(now_us);
  bool valid = safety_rx_hook(msg);
  if (!valid) {
    rx_invalid += 1U;
  }
  return valid ? 1 : 0;
}

static int tx_at(uint64_t now_us, CANPacket_t *msg) {
  lp_set_time(now_us);
  lp_run_due_ticks(now_us);
  bool allowed = safety_tx_hook(msg);
  if (!allowed) {
    tx_blocked += 1U;
  }
  return allowed ? 1 : 0;
}

static void tick_at(uint64_t now_us) {
  lp_set_time(now_us);
  lp_run_due_ticks(now_us);
}

static void heartbeat(bool engaged) {
  heartbeat_counter = 0U;
  heartbeat_lost = false;
  heartbeat_engaged = engaged;
}

LP_API int lp_abi_version(void) {
  return LP_ABI_VERSION;
}

// 0 on success; -1: unknown mode, now in SILENT
LP_API int lp_set_safety_hooks(uint64_t now_us, uint16_t mode, uint16_t param) LOCKED(int, set_safety_hooks_at(now_us, mode, param))

// 1: valid (passed checksum/counter/quality checks or not checked), 0: invalid, -1: malformed frame
LP_API int lp_rx(uint64_t now_us, uint32_t addr, uint8_t bus, const char *data, uint8_t len) {
  CANPacket_t msg;
  if (lp_pack(&msg, addr, bus, data, len) != 0) {
    return -1;
  }
  LOCKED(int, rx_at(now_us, &msg))
}

// 1: may be sent, 0: blocked, -1: malformed frame (never sent either)
LP_API int lp_tx(uint64_t now_us, uint32_t addr, uint8_t bus, const char *data, uint8_t len) {
  CANPacket_t msg;
  if (lp_pack(&msg, addr, bus, data, len) != 0) {
    LOCKED_VOID(tx_blocked += 1U)
    return -1;
  }
  LOCKED(int, tx_at(now_us, &msg))
}

// destination bus for a frame seen on bus_num, or -1 if it must not be forwarded
LP_API int lp_fwd(int bus_num, int addr) LOCKED(int, safety_fwd_hook(bus_num, addr))

LP_API void lp_tick(uint64_t now_us) LOCKED_VOID(tick_at(now_us))
LP_API void lp_heartbeat(bool engaged) LOCKED_VOID(heartbeat(engaged))

LP_API bool lp_controls_allowed(void) LOCKED(bool, controls_allowed)
LP_API bool lp_longitudinal_allowed(void) LOCKED(bool, get_longitudinal_allowed())
LP_API bool lp_relay_malfunction(void) LOCKED(bool, relay_malfunction)
LP_API bool lp_rx_checks_invalid(void) LOCKED(bool, safety_rx_checks_invalid)
LP_API bool lp_heartbeat_lost(void) LOCKED(bool, heartbeat_lost)
LP_API int lp_safety_mode(void) LOCKED(int, current_safety_mode)
LP_API int lp_safety_param(void) LOCKED(int, current_safety_param)
LP_API uint32_t lp_tx_blocked(void) LOCKED(uint32_t, tx_blocked)
LP_API uint32_t lp_rx_invalid(void) LOCKED(uint32_t, rx_invalid)
LP_API int lp_alternative_experience(void) LOCKED(int, alternative_experience)
LP_API void lp_set_alternative_experience(int mode) LOCKED_VOID(alternative_experience = mode)

// like opendbc's test helper set_controls_allowed; the wrapper only exposes it to models made for tests
LP_API void lp_test_set_controls_allowed(bool allowed) LOCKED_VOID(controls_allowed = allowed)
