metadata(description="Pure-Python AES and GHASH for dlms (firmware without cryptolib or viper)",
         version="0.4.0")
require("dlms", library="meter")
package("dlms_pure", base_path="../../lib")
