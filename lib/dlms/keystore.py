# The meter's security state, kept as ONE record ('keystore') of the persistent store, so that a
# key and the counters that belong to it always change together, atomically:
#   identity (server system title), keys (global unicast EK, broadcast BK, authentication AK,
#   master key KEK), LLS secrets per client SAP, security policy and suite per security setup,
#   the server invocation counter reservation and the client counter floors of the unicast key,
#   a short history of earlier unicast keys, the host-provisioned seed and the DRBG forward seed,
#   and the meter's own key pairs (written by dlms_pk/certstore.py through commit()).
# Key sets: the keys, counters and history above are the primary key set (Security setup
# 0.0.43.0.0.255 and, sharing it, the suite 1 setup); a Security setup with keys of its own (the
# suite 2 setup, 32-byte keys) has a named set in 'sets' {name: {keys, ic, bic, hist}} under the
# same rules. KeySet is one set's view (keys, counters, key_transfer, an agreed key); the
# KeyStore's own key, counter and transfer methods are those of its primary set.
# Counters are never restarted: the server counter resumes from its persisted reservation; a
# client system title's counter must be at least its persisted floor after a restart; a key
# transfer to a new unicast key resets both, to an earlier key (history) resumes where it stopped.
# When the record cannot be loaded (no good copy) `failure` says why and the meter refuses
# ciphered service; nothing here ever falls back to defaults.
# Sans-IO apart from the store object passed in; entropy comes from the caller.
from binascii import hexlify, unhexlify
import hashlib
import json
from dlms._compat import const
from dlms import counters, events, suite0
from dlms.drbg import HmacDrbg
from dlms.store import StoreError, StoreCorrupt

RECORD = 'keystore'
KEY_NAMES = ('ek', 'bk', 'ak', 'kek')   # key_transfer key_id 0..3
KEY_UNICAST = const(0)
KEY_BROADCAST = const(1)
KEY_AUTHENTICATION = const(2)
KEY_MASTER = const(3)

# transfer() results
OK = const(0)
ERR_UNWRAP = const(1)      # integrity check of the key wrap failed: nothing changed
ERR_KEY = const(2)         # the unwrapped key has the wrong length: nothing changed
ERR_STORE = const(3)       # the new keys could not be persisted: nothing changed
ERR_STATE = const(4)       # no usable keystore

# security events (names only, never key material): dlms/events.py
EV_KEY_CHANGED = events.KEY_CHANGED
EV_POLICY_CHANGED = events.POLICY_CHANGED
EV_FALLBACK = events.STORE_FALLBACK
EV_FAILURE = events.KEYSTORE_FAILURE
EV_UNWRAP = events.KEY_TRANSFER_REJECTED
EV_STORE = events.STORE_WRITE
EV_PROVISIONED = events.PROVISIONED

_VERSION = const(1)
_MAX_TITLES = const(16)     # client system titles with their own floor; more share 'other'
_HISTORY = const(16)        # earlier unicast keys remembered (fingerprint, counters)
_LIMIT = counters.LIMIT     # 2^32: a reservation/floor this high means "nothing left"


class KeyStoreError(ValueError):
    pass


def _hex(b):
    return hexlify(bytes(b)).decode().upper()


def _copy(v):
    # a deep copy of the record (dicts, lists, str, int): no JSON text of it in between, which
    # on a small heap is a large block at the moment the heap is fullest (a counter write)
    if isinstance(v, dict):
        return {k: _copy(v[k]) for k in v}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def fingerprint(key):
    """What the history remembers of an earlier unicast key: 8 bytes of a hash, not the key."""
    return _hex(hashlib.sha256(b'dlms keystore history' + bytes(key)).digest()[:8])


def new_key_set(ek, ak, kek, bk=b''):
    """The keys and counters of one key set (16-byte keys, or 32 for suite 2), never used."""
    return {'keys': {'ek': _hex(ek), 'ak': _hex(ak), 'kek': _hex(kek),
                     'bk': _hex(bk) if bk else ''},
            'ic': {'server': 0, 'clients': {}, 'other': 0},
            'bic': {'clients': {}, 'other': 0}, 'hist': []}


def new_record(system_title, ek, ak, kek, bk=b'', lls=None, seed=b'', policies=None,
               origin='config', sets=None):
    """A fresh keystore record. lls: {client_sap: secret bytes}; policies: {logical name bytes:
    (policy, suite)}; sets: {name: (ek, ak, kek[, bk])} of the key sets beside the primary one.
    Counters start at 0: only valid for keys never used before."""
    secrets = {}
    for sap in (lls or {}):
        secrets[str(sap)] = _hex(lls[sap])
    pol = {}
    for ln in (policies or {}):
        p = policies[ln]
        pol[_hex(ln)] = [p[0], p[1]]
    rec = {'v': _VERSION, 'origin': origin, 'title': _hex(system_title),
           'keys': {'ek': _hex(ek), 'ak': _hex(ak), 'kek': _hex(kek), 'bk': _hex(bk) if bk else ''},
           'ic': {'server': 0, 'clients': {}, 'other': 0},
           'bic': {'clients': {}, 'other': 0},
           'hist': [], 'lls': secrets, 'pol': pol, 'seed': _hex(seed), 'fwd': '', 'boots': 0,
           'pk': {}, 'pkp': {}}
    if sets:
        rec['sets'] = {}
        for name in sets:
            rec['sets'][name] = new_key_set(*sets[name])
    return check(rec)


def _unhex(s, n=None):
    b = unhexlify(s)
    if n is not None and len(b) != n:
        raise ValueError('length')
    return b


def _counter(v):
    if not isinstance(v, int) or v < 0 or v > _LIMIT:
        raise ValueError('counter')
    return v


def _counters(c):
    _counter(c['other'])
    for t in c['clients']:
        _unhex(t, 8)
        _counter(c['clients'][t])


def _check_set(d, size):
    # one key set: keys of `size` bytes (None: 16 or 32, the same for all), counters, history
    keys = d['keys']
    if size is None:
        size = len(unhexlify(keys['ek']))
        if size != 16 and size != 32:
            raise ValueError('key length')
    for n in ('ek', 'ak', 'kek'):
        _unhex(keys[n], size)
    if keys['bk']:
        _unhex(keys['bk'], size)
    _counter(d['ic']['server'])
    _counters(d['ic'])
    _counters(d['bic'])
    for h in d['hist']:
        _unhex(h[0], 8)
        _counter(h[1])
        _counter(h[2])


def check(rec):
    """The record itself when every field has the expected shape; ValueError otherwise."""
    try:
        if rec['v'] != _VERSION:
            raise ValueError('version')
        _unhex(rec['title'], 8)
        _check_set(rec, 16)
        for name in rec.get('sets', {}):         # older records have none
            if not isinstance(name, str):
                raise ValueError('key set')
            _check_set(rec['sets'][name], None)
        for sap in rec['lls']:
            int(sap)
            _unhex(rec['lls'][sap])
        for ln in rec['pol']:
            _unhex(ln, 6)
            p = rec['pol'][ln]
            if not isinstance(p[0], int) or not isinstance(p[1], int):
                raise ValueError('policy')
        for field in ('pk', 'pkp'):           # key pairs (dlms_pk/certstore.py); older
            for name in rec.get(field, {}):     # records have none
                pair = rec[field][name]
                if not isinstance(pair[0], str):
                    raise ValueError('key pair')
                _unhex(pair[1])
        _unhex(rec['seed'])
        _unhex(rec['fwd'])
        if not isinstance(rec['boots'], int) or not isinstance(rec['origin'], str):
            raise ValueError('boots')
    except (KeyError, TypeError, IndexError, AttributeError):
        raise ValueError('keystore record layout')
    return rec


def provision(store, rec):
    """Write a complete fresh record (tools/provision.py). Raises StoreError/ValueError."""
    store.save(RECORD, check(rec))


class Epoch:
    """What a key change gives the server to apply once the response protected under the old
    keys is out: `result` (OK or ERR_*), and on a change `keys` (suite Keys for the unicast and
    authentication keys), `counter` (the new unicast key's InvocationCounter, None when the
    unicast key stayed) and `changed` (names of the keys that changed). `result` OK with `keys`
    None: the keys it already had, nothing changes."""

    def __init__(self, result, keys=None, counter=None, changed=()):
        self.result = result
        self.keys = keys
        self.counter = counter
        self.changed = changed


class KeyStore:
    def __init__(self, store, step=1000, client_step=1000):
        self.store = store
        self.step = step                  # server counter values per reservation write
        self.client_step = client_step    # client counter values per floor write
        self.rec = None
        self.failure = None               # why ciphered service is refused, or None
        self.events = []                  # (name, detail) since start, names only
        self.sink = None                  # called (name, detail) for every event
        self.primary = KeySet(self, None)  # the keys, counters and history at the top level
        self._sets = {}

    # ---- loading ----
    @property
    def ok(self):
        return self.rec is not None

    def _event(self, name, detail=''):
        self.events.append((name, detail))
        if len(self.events) > 16:
            self.events.pop(0)
        if self.sink is not None:
            try:
                self.sink(name, detail)
            except Exception:
                pass

    def _fail(self, why):
        self.rec = None
        self.failure = why
        self._event(EV_FAILURE, why)
        return False

    def open(self, initial=None):
        """Load the record; when the store has none (and no record of the first store format),
        create it from `initial` (a new_record dict). True when the keys are usable; otherwise
        `failure` says why and nothing may be protected."""
        try:
            rec = self.store.load(RECORD, True)
            damaged = self.store.damaged.get(RECORD)
            if rec is None:
                damaged = None
                rec = self._legacy(initial)
                if rec is None:
                    if initial is None:
                        return self._fail('no keys in the store (not provisioned)')
                    rec = _copy(initial)
                check(rec)
                self.store.save(RECORD, rec)
            else:
                check(rec)
        except StoreCorrupt as e:
            return self._fail('keystore corrupt: %s' % e)
        except StoreError as e:
            return self._fail('keystore not writable: %s' % e)
        except ValueError:
            return self._fail('keystore record invalid')
        if damaged:
            # The newest copy is damaged and an older one is used. Every server counter write
            # adds one step, so one extra step covers what the lost copy may have reserved; the
            # client floors get one client step (see docs/architecture.md for the limits).
            rec = _copy(rec)
            for d in [rec] + [rec['sets'][n] for n in rec.get('sets', {})]:
                ic = d['ic']
                ic['server'] = min(ic['server'] + self.step, _LIMIT)
                for t in ic['clients']:
                    ic['clients'][t] = min(ic['clients'][t] + self.client_step, _LIMIT)
                ic['other'] = min(ic['other'] + self.client_step, _LIMIT)
            try:
                self.store.save(RECORD, rec)
            except StoreError as e:
                return self._fail('keystore not writable after fallback: %s' % e)
            self._event(EV_FALLBACK, 'keystore: %s damaged, older copy used' % ', '.join(damaged))
        self.rec = rec
        self.failure = None
        if rec['origin'] == 'provisioned' and rec['boots'] == 0:
            self._event(EV_PROVISIONED, 'first start with provisioned keys')
        return True

    def _legacy(self, initial):
        """Identity and counter reservation from the first store format, if present."""
        ident = self.store.load('identity', True)
        if ident is None:
            return None
        if initial is None:
            raise ValueError('legacy identity without configuration')
        ic = self.store.load('server_ic', True)
        rec = _copy(initial)
        rec['origin'] = 'migrated'
        rec['title'] = _hex(_unhex(ident['system_title'], 8))
        rec['keys']['ek'] = _hex(_unhex(ident['ek'], 16))
        rec['keys']['ak'] = _hex(_unhex(ident['ak'], 16))
        rec['ic']['server'] = _counter(ic['reserved']) if ic is not None else 0
        return rec

    # ---- what the meter reads ----
    @property
    def system_title(self):
        return unhexlify(self.rec['title'])

    @property
    def origin(self):
        return self.rec['origin']

    def key(self, name):
        return self.primary.key(name)

    def keys(self):
        """suite0.Keys for the global unicast key and the authentication key."""
        return self.primary.keys()

    def keyset(self, name=None):
        """The KeySet `name` (None: the primary one), or None when the record has no such set."""
        if name is None:
            return self.primary
        if self.rec is None or name not in self.rec.get('sets', {}):
            return None
        ks = self._sets.get(name)
        if ks is None:
            ks = self._sets[name] = KeySet(self, name)
        return ks

    def add_keyset(self, name, ek, ak, kek, bk=b''):
        """Create key set `name` (never used keys, counters from the start), persisted; the
        KeySet, or None when it did not stick. An existing set is left as it is."""
        if self.keyset(name) is not None:
            return self.keyset(name)

        def change(r):
            r.setdefault('sets', {})[name] = new_key_set(ek, ak, kek, bk)
            check(r)
        if not self._try(change, 'key set'):
            return None
        return self.keyset(name)

    # the primary key set's counters and key transfer (the API of before key sets)
    def server_counter(self):
        return self.primary.server_counter()

    def client_counters(self):
        return self.primary.client_counters()

    def floor(self, title):
        return self.primary.floor(title)

    def raise_floor(self, title, floor):
        return self.primary.raise_floor(title, floor)

    def transfer(self, entries):
        return self.primary.transfer(entries)

    def install(self, new, what='key agreement'):
        return self.primary.install(new, what)

    @property
    def key_length(self):
        return self.primary.key_length

    def matching(self, values):
        """Names of the keys (of 'ek', 'ak', 'kek') whose value is values[name], e.g. which of
        the public demo keys are in use."""
        found = []
        for n in ('ek', 'ak', 'kek'):
            if n in values and self.key(n) == values[n]:
                found.append(n)
        return found

    def secret(self, client_sap):
        v = self.rec['lls'].get(str(client_sap))
        return unhexlify(v) if v is not None else None

    def set_secret(self, client_sap, secret):
        """Persist a new LLS secret (Association LN attribute 7); False when it did not stick."""
        def change(r):
            r['lls'][str(client_sap)] = _hex(secret)
        return self._try(change, 'lls secret')

    def policy(self, logical_name):
        """(policy, suite) of a security setup, or None."""
        v = self.rec['pol'].get(_hex(logical_name))
        return (v[0], v[1]) if v is not None else None

    def set_policy(self, logical_name, policy, suite=0):
        def change(r):
            r['pol'][_hex(logical_name)] = [policy, suite]
        if not self._try(change, 'security policy'):
            return False
        self._event(EV_POLICY_CHANGED, '0x%02X' % policy)
        return True

    # ---- writing ----
    def _commit(self, change):
        new = _copy(self.rec)
        change(new)
        self.store.save(RECORD, new)
        self.rec = new

    def commit(self, change, what):
        """Apply change(record) to a copy of the record and persist it atomically: True when it
        stuck (else an event and nothing changed). For the keystore's own parts and the key
        pairs of dlms_pk/certstore.py."""
        return self._try(change, what)

    def event(self, name, detail=''):
        """A security event of the security state (names, never key material)."""
        self._event(name, detail)

    def _try(self, change, what):
        if self.rec is None:
            return False
        try:
            self._commit(change)
        except StoreError as e:
            self._event(EV_STORE, '%s: %s' % (what, e))
            return False
        return True

    # ---- randomness ----
    def rng(self, entropy):
        """An HMAC_DRBG for this boot, seeded from entropy(32) (os.urandom), the provisioned
        seed and the forward seed of the previous boot; the forward seed for the next boot is
        persisted before any output is handed out, so even a repeating entropy source never
        repeats an output across restarts. Raises KeyStoreError when it cannot persist."""
        r = self.rec
        nonce = unhexlify(r['fwd']) + (b'%d' % r['boots'])
        d = HmacDrbg(bytes(entropy(32)), nonce,
                     b'dlms meter drbg' + unhexlify(r['seed']) + unhexlify(r['title']))
        fwd = d.generate(32)

        def change(x):
            x['fwd'] = _hex(fwd)
            x['boots'] = x['boots'] + 1
        if not self._try(change, 'drbg state'):
            raise KeyStoreError('DRBG state not persisted')
        return d


class KeySet:
    """One key set of the keystore: its keys (EK, AK, KEK, BK), the server counter reservation
    and client floors of its unicast key and the history of its earlier unicast keys, in the
    record's top level (name None, the primary set) or in record['sets'][name]. Writes go through
    the KeyStore's record, atomically with everything else."""

    def __init__(self, store, name):
        self.ks = store
        self.name = name
        self._gen = 0                     # bumped when the unicast key changes
        self._clients = None
        self._counter = None              # (gen, InvocationCounter) of the current key
        self.keys_class = suite0.Keys

    def _d(self, r):
        return r if self.name is None else r['sets'][self.name]

    @property
    def step(self):
        return self.ks.step

    @property
    def client_step(self):
        return self.ks.client_step

    @property
    def rec(self):
        return self.ks.rec

    def _try(self, change, what):
        return self.ks._try(change, what)

    def _event(self, name, detail=''):
        self.ks._event(name, detail)

    def key(self, name):
        v = self._d(self.ks.rec)['keys'][name]
        return unhexlify(v) if v else None

    @property
    def key_length(self):
        return len(self.key('ek'))

    def keys(self):
        """The suite Keys (`keys_class`: suite0.Keys unless the meter sets the class of the
        set's suite, e.g. suite 2's for 32-byte keys) for the global unicast key and AK."""
        return self.keys_class(self.key('ek'), self.key('ak'))

    def set_policy(self, logical_name, policy, suite=0):
        return self.ks.set_policy(logical_name, policy, suite)

    # ---- counters ----
    def server_counter(self):
        """InvocationCounter for the current unicast key, resuming from its reservation."""
        gen = self._gen

        def persist(reserved):
            if gen != self._gen or self.rec is None:
                raise counters.CounterError('key changed')
            raised = []
            clients = self._clients

            def change(r):
                self._d(r)['ic']['server'] = reserved
                if clients is not None:     # client floors due soon go in the same write
                    c = self._d(r)['ic']['clients']
                    for st, floor, nf in clients.due():
                        t = _hex(st)
                        if c.get(t) == floor:
                            c[t] = nf
                            raised.append((st, nf))
            if not self._try(change, 'server counter'):
                raise counters.CounterError('counter reservation not persisted')
            if raised:
                clients.done(raised)

        c = counters.InvocationCounter(self._d(self.rec)['ic']['server'], persist, self.step)
        self._counter = (gen, c)
        return c

    def client_counters(self):
        """The client counter table of the current unicast key (dlms/counters.py), with its
        floors persisted here."""
        if self._clients is None:
            self._clients = counters.ClientCounterTable(self, self.client_step)
        return self._clients

    def floor(self, title):
        """The persisted floor of a client system title (counters.ClientCounterTable)."""
        ic = self._d(self.rec)['ic']
        return ic['clients'].get(_hex(title), ic['other'])

    def raise_floor(self, title, floor):
        """Persist a client floor; returns the titles (bytes) evicted to make room. Raises
        CounterError when it did not stick (the request must then be refused). The server
        reservation goes along when it is due within half a step."""
        if floor > _LIMIT:
            floor = _LIMIT
        title = _hex(title)
        evicted = []
        server = []

        def change(x):
            r = self._d(x)
            cur = self._counter
            if cur is not None and cur[0] == self._gen:
                new = cur[1].due()
                if new is not None and new > r['ic']['server']:
                    r['ic']['server'] = new
                    server.append((cur[1], new))
            c = r['ic']['clients']
            c[title] = floor
            while len(c) > _MAX_TITLES:
                victim = None
                for t in c:
                    if t != title and (victim is None or c[t] < c[victim]):
                        victim = t
                if c[victim] > r['ic']['other']:
                    r['ic']['other'] = c[victim]
                del c[victim]
                evicted.append(unhexlify(victim))
        if not self._try(change, 'client counter'):
            raise counters.CounterError('client counter floor not persisted')
        for c, reserved in server:
            c.reserved_to(reserved)
        return evicted

    # ---- key transfer ----
    def transfer(self, entries):
        """key_transfer: entries [(key_id, wrapped key)], each unwrapped with the current master
        key (RFC 3394). Nothing changes unless every key unwraps. The new keys are persisted
        (with the counters of a new unicast key reset, or resumed for an earlier one) before
        this returns, after the counter of the old key (server_counter()) has a reservation
        that still covers the response. Returns an Epoch: the server applies it after that
        response, which goes under the old keys."""
        cur = self._counter
        if self.rec is None or cur is None or cur[0] != self._gen:
            return Epoch(ERR_STATE)
        counter = cur[1]
        from dlms import keywrap        # only needed here: not kept in RAM from boot on
        kek = self.key('kek')
        new = {}
        for kid, wrapped in entries:
            try:
                k = keywrap.unwrap(kek, wrapped)
            except keywrap.KeyWrapError:
                self._event(EV_UNWRAP, 'key id %d: integrity check failed' % kid)
                return Epoch(ERR_UNWRAP)
            if len(k) != self.key_length:    # a 256-bit key for a 128-bit set, or back
                return Epoch(ERR_KEY)
            new[KEY_NAMES[kid]] = k
        return self._install(new, counter, 'key transfer')

    def install(self, new, what='key agreement'):
        """Keys obtained otherwise (an agreed key: Security setup key_agreement), {name: key},
        installed exactly as key_transfer installs unwrapped ones (persisted with fresh counters
        for a new unicast key before this returns); an Epoch."""
        cur = self._counter
        if self.rec is None or cur is None or cur[0] != self._gen:
            return Epoch(ERR_STATE)
        for n in new:
            if len(new[n]) != self.key_length:
                return Epoch(ERR_KEY)
        return self._install(new, cur[1], what)

    def _install(self, new, counter, what):
        changed = []
        for n in KEY_NAMES:
            if n in new and new[n] != self.key(n):
                changed.append(n)
        if not changed:
            return Epoch(OK)     # the keys it already has: nothing changes, no counter resets
        ek_changed = 'ek' in changed
        if ek_changed:
            try:
                counter.ensure()          # the response still needs one old-key value
            except counters.CounterError:
                return Epoch(ERR_STORE)
        old_reserved = counter.reserved
        old_fp = fingerprint(self.key('ek'))

        def change(x):
            x['origin'] = 'transferred'
            r = self._d(x)
            for n in changed:
                r['keys'][n] = _hex(new[n])
            if ek_changed:
                ic = r['ic']
                top = ic['other']
                for t in ic['clients']:
                    if ic['clients'][t] > top:
                        top = ic['clients'][t]
                fp = fingerprint(new['ek'])
                found = None
                hist = []
                for h in r['hist']:
                    if h[0] == fp:
                        found = h
                    else:
                        hist.append(h)
                hist.insert(0, [old_fp, max(old_reserved, ic['server']), top])
                r['hist'] = hist[:_HISTORY]
                if found is not None:   # an earlier key again: resume its counters
                    r['ic'] = {'server': found[1], 'clients': {}, 'other': found[2]}
                else:
                    r['ic'] = {'server': 0, 'clients': {}, 'other': 0}
            if 'bk' in changed:
                r['bic'] = {'clients': {}, 'other': 0}
        if not self._try(change, what):
            return Epoch(ERR_STORE)
        c = None
        if ek_changed:
            self._gen += 1           # the old key's counter can no longer reserve anything
            c = self.server_counter()
            if self._clients is not None:
                self._clients.reset()
        self._event(EV_KEY_CHANGED, ','.join(changed) + ('' if self.name is None else
                                                          ' (key set %s)' % self.name))
        return Epoch(OK, self.keys(), c, changed)
