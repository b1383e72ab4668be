# The interface classes, by class_id. A new interface class is one new module plus one line here.
from dlms.cosem.data import Data
from dlms.cosem.register import Register
from dlms.cosem.clock import Clock
from dlms.cosem.association_ln import AssociationLN
from dlms.cosem.security_setup import SecuritySetup
from dlms.cosem.profile_generic import ProfileGeneric

CLASSES = {
    1: Data,
    3: Register,
    7: ProfileGeneric,
    8: Clock,
    15: AssociationLN,
    64: SecuritySetup,
}
