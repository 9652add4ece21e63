using System.Text.Json;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tokens.Dpop;

/// <summary>How a member of a proof's header or claims was found.</summary>
internal enum DpopMember : byte
{
    /// <summary>Not there.</summary>
    Absent,
    /// <summary>A JSON string; its (unescaped) UTF-8 bytes are the member's value.</summary>
    String,
    /// <summary>An object (<c>jwk</c>).</summary>
    Object,
    /// <summary>A finite number (<c>iat</c>).</summary>
    Number,
    /// <summary>There, with a type the checks refuse (or, for <c>crit</c> and private jwk members, of any type).</summary>
    WrongType,
}

/// <summary>The members of a DPoP proof the checks read, as slices of the decoded header and claims.</summary>
internal ref struct DpopProofFields
{
    public DpopMember TypKind;
    public ReadOnlySpan<byte> Typ;
    public DpopMember AlgKind;
    public ReadOnlySpan<byte> Alg;
    public bool Crit;

    public DpopMember JwkKind;
    public bool JwkPrivate;
    public DpopMember KtyKind;
    public ReadOnlySpan<byte> Kty;
    public DpopMember CrvKind;
    public ReadOnlySpan<byte> Crv;
    public DpopMember XKind;
    public ReadOnlySpan<byte> X;
    public DpopMember YKind;
    public ReadOnlySpan<byte> Y;
    public DpopMember NKind;
    public ReadOnlySpan<byte> N;
    public DpopMember EKind;
    public ReadOnlySpan<byte> E;

    public DpopMember JtiKind;
    public ReadOnlySpan<byte> Jti;
    public DpopMember HtmKind;
    public ReadOnlySpan<byte> Htm;
    public DpopMember HtuKind;
    public ReadOnlySpan<byte> Htu;
    public DpopMember AthKind;
    public ReadOnlySpan<byte> Ath;
    public DpopMember NonceKind;
    public ReadOnlySpan<byte> Nonce;

    public DpopMember IatKind;
    public double Iat;
}

/// <summary>The outcome of <see cref="DpopProofReader.TryRead"/>.</summary>
internal enum DpopRead
{
    /// <summary>Both documents are strict JSON objects; the fields are filled in.</summary>
    Ok,
    /// <summary>Not strict JSON (syntax, depth, invalid UTF-8): <c>dpop.proof_invalid:malformed</c>.</summary>
    Malformed,
    /// <summary>
    /// Something this reader does not decide byte-wise (an escaped member name, more names than it tracks, a
    /// possible duplicate): the caller uses the document path (<see cref="StrictJson.TryParseObject"/>),
    /// which compares unescaped names and gives the exact answer.
    /// </summary>
    Fallback,
}

/// <summary>
/// Reads a DPoP proof's decoded header and claims in one pass each with <see cref="Utf8JsonReader"/>, without
/// allocating: the same strictness as <see cref="StrictJson.TryParseObject"/> (RFC 8259 only, depth 8, valid UTF-8
/// in every string, duplicate names refused at every level via <see cref="StrictJson.NameTracker"/>), and the
/// members RFC 9449 §4.2/§4.3 needs as slices of the input. Anything it cannot decide exactly byte-wise is
/// <see cref="DpopRead.Fallback"/>.
/// </summary>
internal static class DpopProofReader
{
    private const int MaxDepth = 8;

    private enum Slot
    {
        None,
        Typ,
        Alg,
        Crit,
        Jwk,
        Kty,
        Crv,
        X,
        Y,
        N,
        E,
        Private,
        Jti,
        Htm,
        Htu,
        Iat,
        Ath,
        Nonce,
    }

    /// <summary>
    /// Reads both documents into <paramref name="fields"/>. Escaped values of the members the checks read are
    /// unescaped into <paramref name="scratch"/> (at least as long as both documents together), so the fields may
    /// point into it.
    /// </summary>
    public static DpopRead TryRead(ReadOnlySpan<byte> header, ReadOnlySpan<byte> claims, Span<byte> scratch, ref DpopProofFields fields)
    {
        try
        {
            var used = 0;
            var read = Read(header, scratch, ref used, ref fields, isHeader: true);
            return read != DpopRead.Ok ? read : Read(claims, scratch, ref used, ref fields, isHeader: false);
        }
        catch (JsonException)
        {
            return DpopRead.Malformed;
        }
        catch (InvalidOperationException)
        {
            // A bad escape in a string value no member here reads (GetString validates it, as StrictJson does).
            return DpopRead.Malformed;
        }
    }

    private static DpopRead Read(ReadOnlySpan<byte> utf8, Span<byte> scratch, ref int used, ref DpopProofFields fields, bool isHeader)
    {
        var reader = new Utf8JsonReader(utf8, StrictJson.ReaderOptions(MaxDepth));
        Span<int> names = stackalloc int[StrictJson.NameTracker.IntsFor(MaxDepth)];
        names.Clear();
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return DpopRead.Malformed;
        }

        StrictJson.NameTracker.EnterObject(names, 0);
        var pending = Slot.None;
        var inJwk = false;
        while (reader.Read())
        {
            var depth = reader.CurrentDepth;
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    if (!StrictJson.NameTracker.Add(names, ref reader, utf8))
                    {
                        return DpopRead.Fallback;
                    }

                    pending = depth == 1 ? (isHeader ? HeaderSlot(reader.ValueSpan) : ClaimSlot(reader.ValueSpan))
                        : depth == 2 && inJwk ? JwkSlot(reader.ValueSpan)
                        : Slot.None;
                    continue;
                case JsonTokenType.StartObject:
                    StrictJson.NameTracker.EnterObject(names, depth);
                    if (pending == Slot.Jwk)
                    {
                        inJwk = true;
                        fields.JwkKind = DpopMember.Object;
                        pending = Slot.None;
                        continue;
                    }

                    break;
                case JsonTokenType.EndObject:
                    if (depth == 1)
                    {
                        inJwk = false;
                    }

                    continue;
                case JsonTokenType.String:
                    if (pending is not (Slot.None or Slot.Jwk or Slot.Crit or Slot.Private or Slot.Iat))
                    {
                        // A member the checks read: its unescaped UTF-8 (System.Text.Json clients write "dpop\u002Bjwt").
                        ReadOnlySpan<byte> value;
                        if (reader.ValueIsEscaped)
                        {
                            var n = reader.CopyString(scratch[used..]);
                            value = scratch.Slice(used, n);
                            used += n;
                        }
                        else
                        {
                            value = reader.ValueSpan;
                        }

                        if (!System.Text.Unicode.Utf8.IsValid(value))
                        {
                            return DpopRead.Malformed;
                        }

                        Set(ref fields, pending, DpopMember.String, value);
                        pending = Slot.None;
                        continue;
                    }

                    if (!StrictJson.IsValidString(ref reader))
                    {
                        return DpopRead.Malformed;
                    }

                    break;
                case JsonTokenType.Number:
                    if (pending == Slot.Iat && reader.TryGetDouble(out var iat) && double.IsFinite(iat))
                    {
                        fields.IatKind = DpopMember.Number;
                        fields.Iat = iat;
                        pending = Slot.None;
                        continue;
                    }

                    break;
            }

            if (pending != Slot.None)
            {
                // Any other value: the member is there, with a type the checks refuse (or, for crit and private
                // jwk members, whose presence is all that counts).
                Set(ref fields, pending, DpopMember.WrongType, default);
                pending = Slot.None;
            }
        }

        return DpopRead.Ok;
    }

    private static void Set(ref DpopProofFields f, Slot slot, DpopMember kind, ReadOnlySpan<byte> value)
    {
        switch (slot)
        {
            case Slot.Typ: f.TypKind = kind; f.Typ = value; break;
            case Slot.Alg: f.AlgKind = kind; f.Alg = value; break;
            case Slot.Crit: f.Crit = true; break;
            case Slot.Jwk: f.JwkKind = kind; break;
            case Slot.Kty: f.KtyKind = kind; f.Kty = value; break;
            case Slot.Crv: f.CrvKind = kind; f.Crv = value; break;
            case Slot.X: f.XKind = kind; f.X = value; break;
            case Slot.Y: f.YKind = kind; f.Y = value; break;
            case Slot.N: f.NKind = kind; f.N = value; break;
            case Slot.E: f.EKind = kind; f.E = value; break;
            case Slot.Private: f.JwkPrivate = true; break;
            case Slot.Jti: f.JtiKind = kind; f.Jti = value; break;
            case Slot.Htm: f.HtmKind = kind; f.Htm = value; break;
            case Slot.Htu: f.HtuKind = kind; f.Htu = value; break;
            case Slot.Iat: f.IatKind = kind; break;
            case Slot.Ath: f.AthKind = kind; f.Ath = value; break;
            case Slot.Nonce: f.NonceKind = kind; f.Nonce = value; break;
        }
    }

    private static Slot HeaderSlot(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("typ"u8) ? Slot.Typ
        : name.SequenceEqual("alg"u8) ? Slot.Alg
        : name.SequenceEqual("crit"u8) ? Slot.Crit
        : name.SequenceEqual("jwk"u8) ? Slot.Jwk
        : Slot.None;

    private static Slot ClaimSlot(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("jti"u8) ? Slot.Jti
        : name.SequenceEqual("htm"u8) ? Slot.Htm
        : name.SequenceEqual("htu"u8) ? Slot.Htu
        : name.SequenceEqual("iat"u8) ? Slot.Iat
        : name.SequenceEqual("ath"u8) ? Slot.Ath
        : name.SequenceEqual("nonce"u8) ? Slot.Nonce
        : Slot.None;

    // RFC 7517 §4 / RFC 7518 §6.2.2, §6.3.2, §6.4 / RFC 8037 §2: members that hold private key material.
    private static Slot JwkSlot(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("kty"u8) ? Slot.Kty
        : name.SequenceEqual("crv"u8) ? Slot.Crv
        : name.SequenceEqual("x"u8) ? Slot.X
        : name.SequenceEqual("y"u8) ? Slot.Y
        : name.SequenceEqual("n"u8) ? Slot.N
        : name.SequenceEqual("e"u8) ? Slot.E
        : name.SequenceEqual("d"u8) || name.SequenceEqual("p"u8) || name.SequenceEqual("q"u8) || name.SequenceEqual("dp"u8)
            || name.SequenceEqual("dq"u8) || name.SequenceEqual("qi"u8) || name.SequenceEqual("oth"u8) || name.SequenceEqual("k"u8)
            ? Slot.Private
            : Slot.None;
}
