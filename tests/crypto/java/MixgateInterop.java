// Bouncy Castle side of mixgate's CMS interop test (tests/crypto/interop_bc.sh): an independent
// implementation that verifies, decrypts and reads the ESS security labels of what mixgate
// produces, and produces signed, encrypted and binary triple-wrapped messages for mixgate.
// Written for this project against Debian's bcprov/bcpkix/bcutil 1.72.
import java.io.*;
import java.nio.file.*;
import java.security.*;
import java.security.cert.X509Certificate;
import java.util.*;
import org.bouncycastle.asn1.*;
import org.bouncycastle.asn1.cms.*;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.*;
import org.bouncycastle.cms.jcajce.*;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.util.encoders.Hex;

public class MixgateInterop {
    static final ASN1ObjectIdentifier SECURITY_LABEL = new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.2");

    static Object pem(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path))) { return p.readObject(); }
    }
    static X509CertificateHolder cert(String path) throws Exception { return (X509CertificateHolder) pem(path); }
    static PrivateKey key(String path) throws Exception {
        return new JcaPEMKeyConverter().setProvider("BC").getPrivateKey((PrivateKeyInfo) pem(path));
    }
    static X509Certificate jcert(X509CertificateHolder h) throws Exception {
        return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().setProvider("BC").getCertificate(h);
    }

    // A ContentInfo, or bare SignedData/EnvelopedData (binary nesting) given its expected type.
    static ContentInfo contentInfo(byte[] der, ASN1ObjectIdentifier bareType) throws Exception {
        ASN1Sequence seq = ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(der));
        if (seq.getObjectAt(0) instanceof ASN1ObjectIdentifier) return ContentInfo.getInstance(seq);
        return new ContentInfo(bareType, seq);
    }

    // verify IN OUT CA: every signer must verify against a certificate chaining to CA (checked by
    // signature); prints signer and label; writes the content.
    // verify-detached SIG CONTENT OUT CA: the same for a detached signature (the second part of
    // a multipart/signed) over CONTENT (the first part's bytes as they were signed).
    static void verify(String in, String out, String ca) throws Exception { verify(in, null, out, ca); }
    static void verify(String in, String content, String out, String ca) throws Exception {
        ContentInfo ci = contentInfo(Files.readAllBytes(Paths.get(in)), CMSObjectIdentifiers.signedData);
        CMSSignedData sd = content == null ? new CMSSignedData(ci)
            : new CMSSignedData(new CMSProcessableByteArray(Files.readAllBytes(Paths.get(content))), ci);
        X509CertificateHolder caCert = cert(ca);
        org.bouncycastle.util.Store<X509CertificateHolder> certs = sd.getCertificates();
        for (SignerInformation si : sd.getSignerInfos().getSigners()) {
            @SuppressWarnings("unchecked")
            Collection<X509CertificateHolder> match = certs.getMatches(si.getSID());
            if (match.isEmpty()) throw new Exception("signer certificate not in message");
            X509CertificateHolder c = match.iterator().next();
            if (!c.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder().setProvider("BC").build(caCert)))
                throw new Exception("signer certificate not issued by the CA");
            if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(c)))
                throw new Exception("signature does not verify");
            System.out.println("signer=" + c.getSubject());
            AttributeTable at = si.getSignedAttributes();
            Attribute lab = at == null ? null : at.get(SECURITY_LABEL);
            if (lab != null)
                System.out.println("label=" + Hex.toHexString(lab.getAttrValues().getObjectAt(0).toASN1Primitive().getEncoded(ASN1Encoding.DER)));
        }
        System.out.println("econtent-type=" + sd.getSignedContentTypeOID());
        Files.write(Paths.get(out), (byte[]) sd.getSignedContent().getContent());
    }

    // decrypt IN OUT CERT KEY: RSA (v1.5 or OAEP) or ECDH recipients, EnvelopedData or AuthEnvelopedData.
    static void decrypt(String in, String out, String certf, String keyf) throws Exception {
        byte[] der = Files.readAllBytes(Paths.get(in));
        ContentInfo ci = contentInfo(der, CMSObjectIdentifiers.envelopedData);
        X509CertificateHolder c = cert(certf);
        PrivateKey k = key(keyf);
        RecipientInformationStore ris;
        if (ci.getContentType().equals(CMSObjectIdentifiers.authEnvelopedData))
            ris = new CMSAuthEnvelopedData(ci).getRecipientInfos();
        else
            ris = new CMSEnvelopedData(ci).getRecipientInfos();
        RecipientInformation ri = ris.get(new JceKeyTransRecipientId(jcert(c)));
        if (ri == null) ri = ris.get(new JceKeyAgreeRecipientId(jcert(c)));
        if (ri == null) throw new Exception("no recipient info for " + c.getSubject());
        Recipient rec = ri instanceof KeyAgreeRecipientInformation
            ? new JceKeyAgreeEnvelopedRecipient(k).setProvider("BC")
            : new JceKeyTransEnvelopedRecipient(k).setProvider("BC");
        System.out.println("key-encryption=" + ri.getKeyEncryptionAlgOID());
        Files.write(Paths.get(out), ri.getContent(rec));
    }

    static CMSSignedData signBytes(ASN1ObjectIdentifier type, byte[] content, String certf, String keyf, String labelHex) throws Exception {
        X509CertificateHolder c = cert(certf);
        PrivateKey k = key(keyf);
        String alg = k.getAlgorithm().startsWith("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        ASN1EncodableVector attrs = new ASN1EncodableVector();
        if (labelHex != null && !labelHex.isEmpty())
            attrs.add(new Attribute(SECURITY_LABEL, new DERSet(ASN1Primitive.fromByteArray(Hex.decode(labelHex)))));
        CMSSignedDataGenerator g = new CMSSignedDataGenerator();
        g.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().setProvider("BC").build())
            .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(new AttributeTable(attrs)))
            .build(new JcaContentSignerBuilder(alg).setProvider("BC").build(k), c));
        g.addCertificate(c);
        return g.generate(new CMSProcessableByteArray(type, content), true);
    }

    static CMSEnvelopedData encryptBytes(ASN1ObjectIdentifier type, byte[] content, String certf) throws Exception {
        X509Certificate c = jcert(cert(certf));
        CMSEnvelopedDataGenerator g = new CMSEnvelopedDataGenerator();
        if (c.getPublicKey().getAlgorithm().startsWith("EC")) {
            // ephemeral-static ECDH: a fresh originator key for this message
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", "BC");
            kpg.initialize(new java.security.spec.ECGenParameterSpec("P-256"));
            KeyPair eph = kpg.generateKeyPair();
            g.addRecipientInfoGenerator(new JceKeyAgreeRecipientInfoGenerator(CMSAlgorithm.ECDH_SHA256KDF,
                    eph.getPrivate(), eph.getPublic(), CMSAlgorithm.AES128_WRAP).setProvider("BC")
                .addRecipient(c));
        }
        else
            g.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(c).setProvider("BC"));
        return g.generate(new CMSProcessableByteArray(type, content),
            new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES128_CBC).setProvider("BC").build());
    }

    static byte[] inner(ContentInfo ci) throws Exception { return ci.getContent().toASN1Primitive().getEncoded(ASN1Encoding.DER); }

    public static void main(String[] a) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        switch (a[0]) {
        case "verify": verify(a[1], a[2], a[3]); break;
        case "verify-detached": verify(a[1], a[2], a[3], a[4]); break;
        case "decrypt": decrypt(a[1], a[2], a[3], a[4]); break;
        case "sign": // sign IN OUT CERT KEY LABELHEX
            Files.write(Paths.get(a[2]), signBytes(CMSObjectIdentifiers.data, Files.readAllBytes(Paths.get(a[1])), a[3], a[4], a.length > 5 ? a[5] : null).getEncoded());
            break;
        case "encrypt": // encrypt IN OUT CERT
            Files.write(Paths.get(a[2]), encryptBytes(CMSObjectIdentifiers.data, Files.readAllBytes(Paths.get(a[1])), a[3]).getEncoded());
            break;
        case "triple": { // triple IN OUT SIGNCERT SIGNKEY RECIPCERT INNERLABEL OUTERLABEL: binary nesting
            CMSSignedData in = signBytes(new ASN1ObjectIdentifier(a.length > 8 ? a[8] : "1.2.840.113549.1.7.1"),
                Files.readAllBytes(Paths.get(a[1])), a[3], a[4], a[6]);
            CMSEnvelopedData env = encryptBytes(CMSObjectIdentifiers.signedData, inner(in.toASN1Structure()), a[5]);
            CMSSignedData out = signBytes(CMSObjectIdentifiers.envelopedData, inner(env.toASN1Structure()), a[3], a[4], a[7]);
            Files.write(Paths.get(a[2]), out.getEncoded());
            break;
        }
        default: throw new IllegalArgumentException(a[0]);
        }
    }
}
