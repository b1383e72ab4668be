# The interface classes this package has, by class_id (CLASSES, for tools and tests: the meter
# builds its objects in firmware/meter.py and looks no class up by id). A new interface class is
# one new module plus its line here, and its instances in firmware/meter.py.
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
