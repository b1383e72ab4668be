# The meter's public-key material: its own key pairs (generated inside the meter, from its DRBG;
# the private keys never leave it) and the certificates it holds: trust anchors (CA certificates,
# placed out of band), its own certificates, and its clients' (which authenticate them and are
# revoked by removing them). What Security setup v1 methods 4 to 8 and attribute 6 do, and what
# HLS-ECDSA asks for. Sans-IO apart from the stores: time and randomness are passed in.
#
# Where things are kept, and why:
# - key pairs in the keystore record (dlms/keystore.py, atomic and verified with the keys):
#   'pk' {key type: [curve, d]} in use, 'pkp' the same for pairs generated and not yet certified
#   (a new pair becomes usable only once its certificate is imported; the import replaces the
#   old pair). Private keys appear nowhere else: not in an attribute, an event, a log or repr.
# - certificates in a record of their own, 'certificates' (atomic and verified by dlms/store.py;
#   nothing secret), so that the keystore record, written at every counter reservation, stays
#   small. In RAM each is its DER and subject CN only, parsed again where it is used (about
#   0.25 ms on the unix port): five parsed certificates held about 9 KiB of heap. A client
#   certificate's signature is verified once and remembered (with the anchor) until the
#   certificates change; validity, usage and title are checked at every use. An import writes
#   the certificate first, then moves the pending pair into use; a power cut between the two
#   is completed at the next start (open()).
# - every change is a security event; a refusal says why (x509 reasons), never with key material.
from binascii import hexlify, unhexlify
from dlms._compat import const
from dlms import events
from dlms_pk import ec, x509

RECORD = 'certificates'
# certificate_entity, certificate_type (Security setup attribute 6 and methods 7/8)
SERVER = const(0)
CLIENT = const(1)
CA = const(2)
DIGITAL_SIGNATURE = const(0)
KEY_AGREEMENT = const(1)
_TYPES = ('sign', 'agree')                    # key type -> keystore name
_ROLES = (x509.ROLE_SIGN, x509.ROLE_AGREE)
_MAX_CERTS = const(16)

# results of the methods (the Security setup maps them to action-results)
OK = const(0)
REFUSED = const(1)        # the request is understood and refused: nothing changed
NOT_FOUND = const(2)
STORE = const(3)          # could not be persisted: nothing changed

EV_KEY_PAIR = events.KEY_PAIR
EV_IMPORTED = events.CERT_IMPORTED
EV_REMOVED = events.CERT_REMOVED
EV_REJECTED = events.CERT_REJECTED


def _hex(b):
    return hexlify(bytes(b)).decode().upper()


def _title_cn(title):
    return _hex(title)


def _int_bytes(n):
    # a certificate serial as the big-endian bytes of its value (attribute 6, export by serial)
    # (no int.bit_length on MicroPython: count the bytes)
    size = 1
    while n >> (8 * size):
        size += 1
    return n.to_bytes(size, 'big')


class CertStore:
    """`scope`: '' for the first Security setup with public keys (the suite 1 setup: record
    'certificates', key pairs 'sign' / 'agree'), another name for each further one (the suite 2
    setup: '_s2', record 'certificates_s2', pairs 'sign_s2' / 'agree_s2'), so that each setup
    has its own trust anchors, certificates and key pairs on its own curve."""

    def __init__(self, keystore, store, now, rng, scope=''):
        self.ks = keystore
        self.store = store
        self.scope = scope
        self._record = RECORD + scope
        self.now = now            # () -> Unix seconds (the meter's clock)
        self.rng = rng            # (n) -> n random bytes (the meter's DRBG)
        self._certs = []          # [entity, type, der, subject CN]: parsed when used
        self._verified = set()    # (cert DER, anchor DER) whose signature verified (x509.check)
        self._load()

    # ---- persistence ----
    def _load(self):
        try:
            rec = self.store.load(self._record)
        except Exception:
            rec = None
        certs = []
        for e in (rec or {}).get('certs', ()):
            try:
                der = unhexlify(e[2])
                certs.append([int(e[0]), int(e[1]), der, x509.parse(der).subject_cn])
            except (ValueError, TypeError, IndexError, x509.X509Error):
                continue
        self._certs = certs
        self._complete_imports()

    def _save(self, certs):
        try:
            self.store.save(self._record, {'certs': [[c[0], c[1], _hex(c[2])] for c in certs]})
        except Exception:
            return False
        self._certs = certs
        self._verified = set()    # anchors may have changed: verify again
        return True

    def _complete_imports(self):
        # a certificate of ours whose key is still pending: the import was cut short
        rec = self.ks.rec
        if rec is None:
            return
        for c in self._certs:
            if c[0] == SERVER:
                p = rec.get('pkp', {}).get(self._name(c[1]))
                if p is not None and self._public(p) == x509.parse(c[2]).public_key:
                    self._activate(c[1])

    # ---- key pairs ----
    @staticmethod
    def _public(pair):
        curve = ec.curve_by_name(pair[0])
        return ec.public_key(curve, unhexlify(pair[1]))

    def _name(self, key_type):
        return _TYPES[key_type] + self.scope     # the key pair's name in the keystore record

    def _activate(self, key_type):
        name = self._name(key_type)

        def change(r):
            pending = r.setdefault('pkp', {})
            r.setdefault('pk', {})[name] = pending.pop(name)
        return self.ks.commit(change, 'key pair')

    def generate_key_pair(self, key_type, curve):
        """Security setup method 4: a new pair for `key_type` (0 digital-signature, 1
        key-agreement) on `curve`, pending until its certificate is imported."""
        if key_type not in (DIGITAL_SIGNATURE, KEY_AGREEMENT) or self.ks.rec is None:
            return REFUSED
        d, _ = ec.generate_keypair(curve, self.rng)

        def change(r):
            r.setdefault('pkp', {})[self._name(key_type)] = [curve.name, _hex(d)]
        if not self.ks.commit(change, 'key pair'):
            return STORE
        self.ks.event(EV_KEY_PAIR, '%s %s' % (_TYPES[key_type], curve.name))
        return OK

    def _pair(self, key_type, pending_first):
        rec = self.ks.rec
        if rec is None or key_type not in (DIGITAL_SIGNATURE, KEY_AGREEMENT):
            return None
        name = self._name(key_type)
        order = ('pkp', 'pk') if pending_first else ('pk',)
        for field in order:
            p = rec.get(field, {}).get(name)
            if p is not None:
                return ec.curve_by_name(p[0]), unhexlify(p[1])
        return None

    def certificate_request(self, key_type, title):
        """Security setup method 5: a PKCS#10 request for the newest pair of `key_type`, signed
        with it (proof of possession), subject CN = the meter's system title; None without."""
        pair = self._pair(key_type, True)
        if pair is None:
            return None
        curve, d = pair
        return x509.csr(curve, d, ec.public_key(curve, d), _title_cn(title), self.rng(32))

    def own_key(self, key_type, curve):
        """The private key in use for `key_type` on `curve` (HLS-ECDSA pass 4), or None."""
        pair = self._pair(key_type, False)
        if pair is None or pair[0] is not curve:
            return None
        return pair[1]

    # ---- certificates ----
    def anchors(self):
        return [x509.parse(c[2]) for c in self._certs if c[0] == CA]

    def add_trust_anchor(self, der):
        """A CA certificate placed out of band (provisioning, the virtual meter's demo CA):
        True when it is (now) held. Not reachable through the Security setup."""
        try:
            cert = x509.parse(der)
        except x509.X509Error:
            return False
        if not cert.is_ca:
            return False
        for c in self._certs:
            if c[0] == CA and c[2] == bytes(der):
                return True
        return self._save(self._certs + [[CA, DIGITAL_SIGNATURE, bytes(der), cert.subject_cn]])

    def import_certificate(self, der, title):
        """Security setup method 6: a certificate is accepted only if it chains to a trust
        anchor, is within its validity at the meter's clock and has the key usage of its role;
        the meter's own (CN = its title) only for a key pair it holds, which it then uses; a
        client's replaces the one held for that title and role. (result, reason)."""
        try:
            cert = x509.parse(der)
            if cert.is_ca:
                raise x509.X509Error('ca')          # trust anchors come out of band only
            key_type = self._role(cert)
            ours = cert.subject_cn == _title_cn(title)
            bound = title if ours else self._title_of(cert)
            x509.check(cert, _ROLES[key_type], bound, self.now(), self.anchors())
        except x509.X509Error as e:
            self.ks.event(EV_REJECTED, e.reason)
            return REFUSED, e.reason
        entity = SERVER if ours else CLIENT
        if ours:
            pending = self._pair_public(key_type, 'pkp')
            if cert.public_key != pending and cert.public_key != self._pair_public(key_type, 'pk'):
                self.ks.event(EV_REJECTED, 'not our key')
                return REFUSED, 'not our key'
        keep = [c for c in self._certs
                if not (c[0] == entity and c[1] == key_type and
                        (ours or c[3] == cert.subject_cn))]
        if len(keep) >= _MAX_CERTS:
            return REFUSED, 'full'
        if not self._save(keep + [[entity, key_type, bytes(der), cert.subject_cn]]):
            return STORE, 'store'
        if ours and cert.public_key == self._pair_public(key_type, 'pkp'):
            if not self._activate(key_type):
                return STORE, 'store'
        self.ks.event(EV_IMPORTED, '%s %s %s' % (('server', 'client')[entity], _TYPES[key_type],
                                                 cert.subject_cn))
        return OK, None

    def _pair_public(self, key_type, field):
        rec = self.ks.rec
        p = rec.get(field, {}).get(self._name(key_type)) if rec is not None else None
        return self._public(p) if p is not None else None

    @staticmethod
    def _role(cert):
        ku = cert.key_usage
        if ku & x509.KU_DIGITAL_SIGNATURE and not ku & x509.KU_KEY_AGREEMENT:
            return DIGITAL_SIGNATURE
        if ku & x509.KU_KEY_AGREEMENT and not ku & x509.KU_DIGITAL_SIGNATURE:
            return KEY_AGREEMENT
        raise x509.X509Error('key-usage')

    @staticmethod
    def _title_of(cert):
        # the system title a client certificate names (its hardware-module SAN, else its CN)
        if cert.hw_serial is not None:
            return bytes(cert.hw_serial)
        try:
            t = unhexlify(cert.subject_cn or '')
        except ValueError:
            raise x509.X509Error('subject')
        if len(t) != 8:
            raise x509.X509Error('subject')
        return t

    def _find(self, selector, title):
        # selector: (0, entity, type, system title) or (1, serial, issuer DER)
        for i in range(len(self._certs)):
            c = self._certs[i]
            if selector[0] == 0:
                want = title if selector[1] == SERVER else selector[3]
                if c[0] == selector[1] and c[1] == selector[2] and (
                        c[0] == CA or c[3] == _title_cn(want)):
                    return i
            elif self._matches(c, selector):
                return i
        return None

    @staticmethod
    def _matches(c, selector):
        x = x509.parse(c[2])
        return x.serial == int.from_bytes(bytes(selector[1]), 'big') and \
            x.issuer == bytes(selector[2])

    def export_certificate(self, selector, title):
        """Security setup method 7: the DER of the certificate the selector names, or None."""
        i = self._find(selector, title)
        return self._certs[i][2] if i is not None else None

    def remove_certificate(self, selector, title):
        """Security setup method 8: a client's certificate is revoked (its next association
        fails); the meter's own goes with its private key; a trust anchor cannot be removed."""
        i = self._find(selector, title)
        if i is None:
            return NOT_FOUND
        c = self._certs[i]
        if c[0] == CA:
            return REFUSED
        if not self._save(self._certs[:i] + self._certs[i + 1:]):
            return STORE
        if c[0] == SERVER:
            name = self._name(c[1])

            def change(r):
                r.setdefault('pk', {}).pop(name, None)
            self.ks.commit(change, 'key pair')
        self.ks.event(EV_REMOVED, '%s %s %s' % (('server', 'client', 'ca')[c[0]], _TYPES[c[1]],
                                                c[3]))
        return OK

    def entries(self):
        """Attribute 6: (entity, type, serial, issuer DER, subject DER, subject_alt_name)."""
        out = []
        for c in self._certs:
            x = x509.parse(c[2])
            out.append((c[0], c[1], _int_bytes(x.serial), x.issuer, x.subject, b''))
        return out

    def peer_key(self, title, key_type, curve):
        """The public key of the valid certificate held for client `title` and `key_type` on
        `curve` (HLS-ECDSA pass 3), or None (none held, expired, not yet valid)."""
        cn = _title_cn(title)
        for c in self._certs:
            if c[0] == CLIENT and c[1] == key_type and c[3] == cn:
                cert = x509.parse(c[2])
                if cert.curve is not curve:
                    return None
                try:
                    x509.check(cert, _ROLES[key_type], title, self.now(), self.anchors(),
                               self._verified)
                except x509.X509Error:
                    return None
                return cert.public_key
        return None
