metadata(description="DLMS/COSEM server core: ACSE/xDLMS, HDLC, wrapper, suite 0, keystore",
         version="0.4.0")
package("dlms", base_path="../../lib")
