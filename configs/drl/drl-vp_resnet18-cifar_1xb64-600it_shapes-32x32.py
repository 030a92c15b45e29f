# DRL with the VP (DDPM) SDE: the 1000-step linear beta schedule of the DDPM configs
# (diffusers' DDPMScheduler), t uniform over the chain.
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(sde=dict(_delete_=True, type='vp', num_train_timesteps=1000,
                      beta_schedule='linear'))
