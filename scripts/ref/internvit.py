"""PyTorch reference of InternViT (HF transformers `InternVLVisionModel`) and InternVL3's image features
(`InternVLModel.get_image_features`: class token dropped, `pixel_shuffle`, `InternVLMultiModalProjector`), as the
official 2B policy (`interna1`, InternVLA_A1_2B/modeling_internvla_a1.py `embed_und`) calls them.

Written from transformers/models/internvl/modeling_internvl.py (the HF source), not from the TypeScript port:
functions over a flat dict `W` of official checkpoint names under `prefix` (= `…und_expert.model.`). Float32.
"""
import torch
import torch.nn.functional as F


def _ln(x, W, name, eps):
    return F.layer_norm(x, (x.shape[-1],), W[name + ".weight"], W[name + ".bias"], eps)


def _lin(x, W, name):
    return F.linear(x, W[name + ".weight"], W.get(name + ".bias"))


def interpolate_pos_encoding(table, n_patches_h, n_patches_w):
    """InternVLVisionEmbeddings.interpolate_pos_encoding: the table as is when the grid is the native square one,
    else the patch part resized with F.interpolate(bicubic, align_corners=False)."""
    num_positions = table.shape[1] - 1
    if n_patches_h * n_patches_w == num_positions and n_patches_h == n_patches_w:
        return table
    class_pos, patch_pos = table[:, :1], table[:, 1:]
    dim = table.shape[-1]
    side = int(num_positions ** 0.5)
    patch_pos = patch_pos.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(patch_pos, size=(n_patches_h, n_patches_w), mode="bicubic", align_corners=False)
    patch_pos = patch_pos.permute(0, 2, 3, 1).view(1, -1, dim)
    return torch.cat((class_pos, patch_pos), dim=1)


def vision_model(W, vcfg, pixel_values, prefix, trace=None, tag="vit"):
    """InternVLVisionModel.forward: last_hidden_state [N, 1 + gh*gw, D] of normalised pixels [N, 3, H, W]."""
    e = prefix + "vision_tower.embeddings."
    P = vcfg["patch_size"]
    x = F.conv2d(pixel_values, W[e + "patch_embeddings.projection.weight"], W[e + "patch_embeddings.projection.bias"], stride=P)
    gh, gw = x.shape[2], x.shape[3]
    x = x.flatten(2).transpose(1, 2)
    N, _, D = x.shape
    x = torch.cat((W[e + "cls_token"].expand(N, -1, -1), x), dim=1)
    x = x + interpolate_pos_encoding(W[e + "position_embeddings"], gh, gw)
    if trace is not None:
        trace[f"{tag}.embeddings"] = x.detach().clone()
    H = vcfg["num_attention_heads"]
    hd = D // H
    eps = vcfg["layer_norm_eps"]
    for i in range(vcfg["num_hidden_layers"]):
        p = f"{prefix}vision_tower.encoder.layer.{i}."
        h = _ln(x, W, p + "layernorm_before", eps)
        q = _lin(h, W, p + "attention.q_proj").reshape(N, -1, H, hd).transpose(1, 2)
        k = _lin(h, W, p + "attention.k_proj").reshape(N, -1, H, hd).transpose(1, 2)
        v = _lin(h, W, p + "attention.v_proj").view(N, -1, H, hd).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * hd ** -0.5, dim=-1)  # eager_attention_forward, no mask
        a = torch.matmul(a, v).transpose(1, 2).reshape(N, -1, D)
        x = W[p + "lambda_1"] * _lin(a, W, p + "attention.projection_layer") + x
        m = _lin(F.gelu(_lin(_ln(x, W, p + "layernorm_after", eps), W, p + "mlp.fc1")), W, p + "mlp.fc2")
        x = W[p + "lambda_2"] * m + x
        if trace is not None:
            trace[f"{tag}.layer{i}"] = x.detach().clone()
    if not vcfg["use_mean_pooling"]:
        x = _ln(x, W, prefix + "vision_tower.layernorm", eps)
    return x


def pixel_shuffle(vision_features, scale_factor=0.5):
    """InternVLModel.pixel_shuffle, verbatim in its view / permute order."""
    batch_size, width, height, channels = vision_features.size()
    vision_features = vision_features.view(batch_size, width, int(height * scale_factor), int(channels / scale_factor))
    vision_features = vision_features.permute(0, 2, 1, 3).contiguous()
    vision_features = vision_features.view(
        batch_size, int(height * scale_factor), int(width * scale_factor), int(channels / (scale_factor ** 2))
    )
    return vision_features.permute(0, 2, 1, 3).contiguous()


def image_features(W, vcfg, images01, prefix, trace=None, tag="vit"):
    """The official `embed_und` image path: ImageNet normalisation, then get_image_features (layer -1,
    strategy "default"), then the projector LayerNorm (eps 1e-5, nn.LayerNorm default) -> Linear -> GELU -> Linear."""
    mean = torch.tensor(vcfg["imagenet_mean"]).view(1, 3, 1, 1)
    std = torch.tensor(vcfg["imagenet_std"]).view(1, 3, 1, 1)
    x = vision_model(W, vcfg, (images01 - mean) / std, prefix, trace, tag)
    if trace is not None:
        trace[f"{tag}.last_hidden_state"] = x.detach().clone()
    x = x[:, 1:, :]
    n, c = x.shape[0], x.shape[1]
    fs = int(c ** 0.5)
    x = pixel_shuffle(x.reshape(n, fs, fs, -1), scale_factor=vcfg["downsample_ratio"])
    x = x.reshape(n, -1, x.shape[-1])
    if trace is not None:
        trace[f"{tag}.shuffled"] = x.detach().clone()
    m = prefix + "multi_modal_projector."
    x = F.layer_norm(x, (x.shape[-1],), W[m + "layer_norm.weight"], W[m + "layer_norm.bias"], 1e-5)
    out = _lin(F.gelu(_lin(x, W, m + "linear_1")), W, m + "linear_2")
    if trace is not None:
        trace[f"{tag}.features"] = out.detach().clone()
    return out
